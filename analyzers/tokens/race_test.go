//go:build race

package tokens

// raceEnabled: the race detector slows everything about tenfold.
const raceEnabled = true
