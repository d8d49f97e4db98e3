package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Decimal places of each kind of number on the wire.
const (
	QuantityPlaces  = 3
	KoefisienPlaces = 6
	HargaPlaces     = 2
)

// maxAmount bounds every parsed number so sums cannot overflow sensible ranges.
var maxAmount = decimal.New(1, 15)

var errNotNumber = errors.New("bukan angka")

// ParseNumber reads a number the way the app's forms accept it: a JSON
// number, or a string in either notation — "12,5", "1.234,56", "1,234.56",
// "12.5", with optional spaces. A single separator followed by exactly three
// digits is still read as a decimal point when it is a dot ("1.234" = 1.234)
// and as a decimal comma when it is a comma ("1,234" = 1.234), as the real
// app's parser does.
func ParseNumber(v any) (decimal.Decimal, error) {
	switch x := v.(type) {
	case json.Number:
		return parseJSONNumber(string(x))
	case float64:
		return decimal.NewFromFloat(x), nil
	case int:
		return decimal.NewFromInt(int64(x)), nil
	case int64:
		return decimal.NewFromInt(x), nil
	case string:
		return parseNumberString(x)
	case decimal.Decimal:
		return x, nil
	}
	return decimal.Decimal{}, errNotNumber
}

// maxExponent bounds the exponent of JSON numbers such as 1e5: rounding a
// decimal with a huge exponent would need a huge power of ten.
const maxExponent = 30

func parseJSONNumber(s string) (decimal.Decimal, error) {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return parseNumberString(s)
	}
	exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
	if err != nil || exp > maxExponent || exp < -maxExponent || len(s) > 40 {
		return decimal.Decimal{}, errNotNumber
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errNotNumber
	}
	return d, nil
}

func parseNumberString(s string) (decimal.Decimal, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '_' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if s == "" || len(s) > 40 {
		return decimal.Decimal{}, errNotNumber
	}
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	lastDot, lastComma := strings.LastIndex(s, "."), strings.LastIndex(s, ",")
	switch {
	case dots > 0 && commas > 0:
		if lastComma > lastDot { // 1.234,56
			if strings.Count(s[lastComma:], ".") > 0 || commas > 1 {
				return decimal.Decimal{}, errNotNumber
			}
			s = strings.ReplaceAll(s, ".", "")
			s = strings.Replace(s, ",", ".", 1)
		} else { // 1,234.56
			if dots > 1 {
				return decimal.Decimal{}, errNotNumber
			}
			s = strings.ReplaceAll(s, ",", "")
		}
	case commas > 1: // 1,234,567
		s = strings.ReplaceAll(s, ",", "")
	case commas == 1:
		s = strings.Replace(s, ",", ".", 1)
	case dots > 1: // 1.234.567
		s = strings.ReplaceAll(s, ".", "")
	}
	for i, r := range s {
		if (r < '0' || r > '9') && r != '.' && !(i == 0 && (r == '-' || r == '+')) {
			return decimal.Decimal{}, errNotNumber
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errNotNumber
	}
	return d, nil
}

// parseAmount parses a non-negative bounded number rounded to places.
func parseAmount(v any, places int32) (decimal.Decimal, string) {
	d, err := ParseNumber(v)
	if err != nil {
		return decimal.Decimal{}, fmt.Sprintf("Harus berupa angka, mis. \"12,5\" atau \"1.234,56\" (diterima: %s)", describe(v))
	}
	if d.IsNegative() {
		return decimal.Decimal{}, "Tidak boleh negatif"
	}
	if d.GreaterThanOrEqual(maxAmount) {
		return decimal.Decimal{}, "Angka terlalu besar"
	}
	return d.Round(places), ""
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("%q", x)
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// FormatID renders d with places decimals in Indonesian notation:
// 1689062.5 -> "1.689.062,50".
func FormatID(d decimal.Decimal, places int32) string {
	s := d.StringFixed(places)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	if places > 0 {
		b.WriteByte(',')
		b.WriteString(frac)
	}
	return b.String()
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}
