package tokens

import (
	"math"
	"testing"
)

func TestIDF(t *testing.T) {
	for _, tc := range []struct {
		df, n int64
		want  float64
	}{
		{0, 0, 0},
		{10, 10, 0},
		{0, 10, math.Log(11)},
		{1, 99, math.Log(50)},
		{-5, 10, math.Log(11)}, // clamped to 0
		{20, 10, 0},            // clamped to n
	} {
		if got := IDF(tc.df, tc.n); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("IDF(%d, %d) = %v, want %v", tc.df, tc.n, got, tc.want)
		}
	}
}

func TestRankAndRarity(t *testing.T) {
	df := map[string]int64{"function": 900, "mail": 300, "_POST": 300, `"rezult.box@example.com`: 1}
	ranked := Rank([]string{"function", "mail", "_POST", `"rezult.box@example.com`, "xxspamkingxx"}, df, 1000)
	var order []string
	for _, w := range ranked {
		order = append(order, w.Token)
	}
	// never seen first, then rarest; ties by token
	want := []string{"xxspamkingxx", `"rezult.box@example.com`, "_POST", "mail", "function"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %q, want %q", order, want)
		}
	}
	if ranked[0].DocFreq != 0 || ranked[4].DocFreq != 900 {
		t.Errorf("doc freqs %+v", ranked)
	}
	common := Rank([]string{"function", "mail"}, df, 1000)
	if r, c := Rarity(ranked, 2), Rarity(common, 2); r <= c {
		t.Errorf("rare file %.3f not above common file %.3f", r, c)
	}
	if got := Rarity(ranked, 1); got != ranked[0].Weight {
		t.Errorf("Rarity k=1 = %v, want %v", got, ranked[0].Weight)
	}
	if Rarity(nil, 5) != 0 || Rarity(ranked, 0) != 0 {
		t.Error("Rarity of nothing is not 0")
	}
	if got, want := Rarity(common, 10), (ranked[3].Weight+ranked[4].Weight)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("Rarity with k beyond the tokens = %v, want %v", got, want)
	}
}
