package sqlindex

import (
	"context"

	"dewar/index"
	"dewar/index/query"
)

// Statements of the lookups, for plan tests.
var (
	KnownGoodOverlapSQL = knownGoodOverlapSQL
	TLSHSQL             = tlshSQL
	SimilarSQL          = similarSQL
	LookupSQL           = lookupSQL
	JobFilesSQL         = jobFiles
	StaleSQL            = staleSQL
)

// ExplainSearch returns the plan of a search's page query.
func ExplainSearch(ctx context.Context, ix *Index, q query.Node, of query.Target, opts index.SearchOptions) ([]string, error) {
	return ix.explainSearch(ctx, q, of, opts)
}

// Explain returns the plan of a statement written with "?" placeholders.
func Explain(ctx context.Context, ix *Index, text string, args ...any) ([]string, error) {
	return ix.explain(ctx, ix.d.rebind(text), args...)
}
