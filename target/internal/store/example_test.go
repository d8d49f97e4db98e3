package store_test

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/ahsp-harness/harness/target/internal/store"
)

// The rekap's worked example: one custom pekerjaan with two labour lines.
func ExampleRekapRow_Compute() {
	r := store.RekapRow{
		A:         decimal.RequireFromString("0.75").Mul(decimal.NewFromInt(150000)).Add(decimal.RequireFromString("0.025").Mul(decimal.NewFromInt(200000))),
		MarkupEff: decimal.NewFromInt(15),
		Volume:    decimal.RequireFromString("12.5"),
	}
	r.Compute()
	fmt.Println(r.EBase, r.F, r.G, r.Total)
	fmt.Println(store.FormatID(r.Total, store.HargaPlaces))
	// Output:
	// 117500 17625 135125 1689062.5
	// 1.689.062,50
}

func ExampleParseNumber() {
	for _, in := range []any{"12,5", "1.234,56", "1,234.56", 12.5} {
		d, _ := store.ParseNumber(in)
		fmt.Println(d.StringFixed(store.QuantityPlaces))
	}
	// Output:
	// 12.500
	// 1234.560
	// 1234.560
	// 12.500
}
