package s3conformance

// regressionCases pin server bugs this suite found, one case per fix, so
// each stays fixed on every target.
var regressionCases = []testCase{}
