package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/shopspring/decimal"
)

// The reference AHSP catalog is generated from word lists and base
// coefficients: realistic Indonesian work items (galian, pasangan, beton...)
// with labour (TK), material (BHN), equipment (ALT) and other (LAIN) rincian.
// It is deterministic, so every database holds the same catalog and ids.

// CatalogVersion changes when the generator's output changes.
const CatalogVersion = "2"

// Resource is one priced input: a labour grade, a material, a piece of
// equipment or another cost, with its base price for seeded price lists.
type Resource struct {
	Kategori string
	Kode     string
	Uraian   string
	Satuan   string
	Harga    decimal.Decimal
}

// CatalogItem is one rincian line of a catalog entry.
type CatalogItem struct {
	Resource
	Koefisien decimal.Decimal
}

// CatalogEntry is one reference AHSP.
type CatalogEntry struct {
	Kode   string
	Nama   string
	Satuan string
	Sumber string
	Items  []CatalogItem
}

type catalogGen struct {
	res     map[string]Resource
	entries []CatalogEntry
}

func (g *catalogGen) r(kat, kode, uraian, satuan string, harga int64) Resource {
	if r, ok := g.res[kode]; ok {
		return r
	}
	r := Resource{Kategori: kat, Kode: kode, Uraian: uraian, Satuan: satuan, Harga: decimal.NewFromInt(harga)}
	g.res[kode] = r
	return r
}

type part struct {
	r    Resource
	koef string
}

// add appends an entry whose coefficients are base × factor, rounded to 4 places.
func (g *catalogGen) add(kode, nama, satuan, sumber string, factor decimal.Decimal, parts ...part) {
	e := CatalogEntry{Kode: kode, Nama: nama, Satuan: satuan, Sumber: sumber}
	for _, p := range parts {
		k := decimal.RequireFromString(p.koef).Mul(factor).Round(4)
		if k.IsZero() {
			k = decimal.New(1, -4)
		}
		e.Items = append(e.Items, CatalogItem{Resource: p.r, Koefisien: k})
	}
	g.entries = append(g.entries, e)
}

func f(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var catalogOnce = sync.OnceValues(buildCatalog)

// Catalog returns the generated reference catalog and its resources, in a
// stable order. Callers must not modify the slices.
func Catalog() ([]CatalogEntry, []Resource) { return catalogOnce() }

func buildCatalog() ([]CatalogEntry, []Resource) {
	g := &catalogGen{res: map[string]Resource{}}
	pekerja := g.r("TK", "L.01", "Pekerja", "OH", 150000)
	tukangBatu := g.r("TK", "L.02", "Tukang batu", "OH", 170000)
	tukangKayu := g.r("TK", "L.03", "Tukang kayu", "OH", 170000)
	mandor := g.r("TK", "L.04", "Mandor", "OH", 200000)
	kepala := g.r("TK", "L.05", "Kepala tukang", "OH", 185000)
	tukangBesi := g.r("TK", "L.06", "Tukang besi", "OH", 170000)
	tukangCat := g.r("TK", "L.07", "Tukang cat", "OH", 165000)
	operator := g.r("TK", "L.08", "Operator alat berat", "OH", 210000)
	tukangPipa := g.r("TK", "L.09", "Tukang pipa", "OH", 170000)

	semen := g.r("BHN", "M.01", "Semen Portland", "kg", 1600)
	pasirPasang := g.r("BHN", "M.02", "Pasir pasang", "m3", 280000)
	pasirBeton := g.r("BHN", "M.03", "Pasir beton", "m3", 320000)
	kerikil := g.r("BHN", "M.04", "Kerikil/batu pecah 2-3 cm", "m3", 350000)
	bata := g.r("BHN", "M.05", "Bata merah", "buah", 900)
	batako := g.r("BHN", "M.06", "Batako", "buah", 4500)
	besiPolos := g.r("BHN", "M.07", "Besi beton polos", "kg", 15000)
	besiUlir := g.r("BHN", "M.08", "Besi beton ulir", "kg", 16000)
	kawat := g.r("BHN", "M.09", "Kawat beton", "kg", 25000)
	kayu3 := g.r("BHN", "M.10", "Kayu kelas III", "m3", 3500000)
	paku := g.r("BHN", "M.11", "Paku 5-12 cm", "kg", 22000)
	minyak := g.r("BHN", "M.12", "Minyak bekisting", "liter", 30000)
	multipleks := g.r("BHN", "M.13", "Multipleks 12 mm", "lembar", 210000)
	semenWarna := g.r("BHN", "M.14", "Semen warna", "kg", 12000)
	catTembok := g.r("BHN", "M.15", "Cat tembok", "kg", 45000)
	plamir := g.r("BHN", "M.16", "Plamir tembok", "kg", 20000)
	catDasar := g.r("BHN", "M.17", "Cat dasar", "kg", 40000)
	air := g.r("BHN", "M.18", "Air", "liter", 50)
	batuKali := g.r("BHN", "M.19", "Batu kali", "m3", 300000)
	tanahUrug := g.r("BHN", "M.20", "Tanah urug", "m3", 120000)
	catKayu := g.r("BHN", "M.21", "Cat kayu/besi", "kg", 60000)
	sirtu := g.r("BHN", "M.22", "Sirtu", "m3", 210000)
	readyMix := g.r("BHN", "M.23", "Beton ready mix", "m3", 1100000)
	lem := g.r("BHN", "M.24", "Lem PVC", "kg", 95000)
	genteng := map[string]Resource{
		"genteng keramik":         g.r("BHN", "M.30", "Genteng keramik", "buah", 6500),
		"genteng beton":           g.r("BHN", "M.31", "Genteng beton", "buah", 5500),
		"seng gelombang BJLS 0,3": g.r("BHN", "M.32", "Seng gelombang BJLS 0,3", "lembar", 65000),
		"metal pasir":             g.r("BHN", "M.33", "Genteng metal pasir", "lembar", 52000),
	}

	molen := g.r("ALT", "E.01", "Molen beton 0,3 m3", "jam", 65000)
	stamper := g.r("ALT", "E.02", "Stamper", "jam", 55000)
	excavator := g.r("ALT", "E.03", "Excavator 0,8 m3", "jam", 450000)
	dumpTruck := g.r("ALT", "E.04", "Dump truck 5 ton", "jam", 350000)
	vibrator := g.r("ALT", "E.05", "Vibrator beton", "jam", 50000)
	alatBantu := g.r("LAIN", "X.01", "Alat bantu", "ls", 25000)
	ujiMutu := g.r("LAIN", "X.02", "Uji mutu beton", "ls", 150000)

	ck, bm, sda := "AHSP Cipta Karya", "AHSP Bina Marga", "AHSP Sumber Daya Air"

	// 2.2.1 Galian
	soils := []struct{ name, base string }{
		{"tanah biasa", "0.75"}, {"tanah keras", "1.0"}, {"tanah cadas", "1.5"},
		{"tanah berlumpur", "0.9"}, {"pasir", "0.6"},
	}
	depths := []string{"1", "2", "3", "4"}
	n := 0
	for _, so := range soils {
		for di, d := range depths {
			fac := f("1").Add(f("0.15").Mul(decimal.NewFromInt(int64(di))))
			n++
			g.add(fmt.Sprintf("2.2.1.%d", n), fmt.Sprintf("Galian %s sedalam %s m", so.name, d), "m3", sda, fac,
				part{pekerja, so.base}, part{mandor, f(so.base).Div(f("30")).String()})
			n++
			g.add(fmt.Sprintf("2.2.1.%d", n), fmt.Sprintf("Galian %s sedalam %s m dengan excavator", so.name, d), "m3", sda, fac,
				part{operator, "0.04"}, part{pekerja, "0.02"}, part{mandor, "0.002"},
				part{excavator, f(so.base).Mul(f("0.053")).String()})
		}
	}
	// 2.2.2 Urugan dan pemadatan
	fills := []struct {
		name string
		mat  *Resource
		koef string
	}{
		{"Urugan tanah kembali", nil, ""}, {"Urugan pasir", &pasirPasang, "1.2"},
		{"Urugan tanah urug didatangkan", &tanahUrug, "1.2"}, {"Urugan sirtu", &sirtu, "1.2"},
		{"Pemadatan tanah per 20 cm", nil, ""},
	}
	for i, fl := range fills {
		for j, how := range []string{"", " dengan stamper"} {
			parts := []part{{pekerja, "0.5"}, {mandor, "0.05"}}
			if fl.mat != nil {
				parts = append(parts, part{*fl.mat, fl.koef})
			}
			if j == 1 {
				parts = append(parts, part{stamper, "0.2"})
			}
			g.add(fmt.Sprintf("2.2.2.%d", i*2+j+1), fl.name+how, "m3", sda, f("1").Sub(f("0.3").Mul(decimal.NewFromInt(int64(j)))), parts...)
		}
	}
	// 3.1 Pondasi
	mixes := []string{"1:2", "1:3", "1:4", "1:5", "1:6", "1:8"}
	cement := map[string]string{"1:2": "300", "1:3": "218", "1:4": "163", "1:5": "136", "1:6": "117", "1:8": "91"}
	for i, m := range mixes {
		g.add(fmt.Sprintf("3.1.1.%d", i+1), "Pemasangan pondasi batu kali "+m, "m3", ck, f("1"),
			part{pekerja, "1.5"}, part{tukangBatu, "0.75"}, part{kepala, "0.075"}, part{mandor, "0.075"},
			part{batuKali, "1.2"}, part{semen, cement[m]}, part{pasirPasang, "0.52"})
	}
	g.add("3.1.2.1", "Pemasangan pondasi batu kosong (aanstamping)", "m3", ck, f("1"),
		part{pekerja, "0.78"}, part{tukangBatu, "0.39"}, part{kepala, "0.039"}, part{mandor, "0.039"},
		part{batuKali, "1.2"}, part{pasirPasang, "0.432"})
	// 4.1 Pasangan dinding
	n = 0
	for _, wall := range []struct {
		name string
		mat  Resource
		qty  string
		fac  string
	}{{"bata merah tebal 1/2 bata", bata, "70", "1"}, {"bata merah tebal 1 bata", bata, "140", "2"}, {"batako", batako, "12.5", "0.9"}} {
		for _, m := range mixes {
			n++
			g.add(fmt.Sprintf("4.1.1.%d", n), "Pemasangan dinding "+wall.name+" "+m, "m2", ck, f(wall.fac),
				part{pekerja, "0.3"}, part{tukangBatu, "0.1"}, part{kepala, "0.01"}, part{mandor, "0.015"},
				part{wall.mat, wall.qty}, part{semen, f(cement[m]).Div(f("16")).Round(2).String()}, part{pasirPasang, "0.043"})
		}
	}
	// 4.2 Plesteran
	n = 0
	for _, m := range mixes {
		for _, t := range []string{"10", "15", "20"} {
			n++
			fac := f(t).Div(f("15"))
			g.add(fmt.Sprintf("4.2.1.%d", n), fmt.Sprintf("Plesteran %s tebal %s mm", m, t), "m2", ck, fac,
				part{pekerja, "0.3"}, part{tukangBatu, "0.15"}, part{kepala, "0.015"}, part{mandor, "0.015"},
				part{semen, f(cement[m]).Div(f("30")).Round(2).String()}, part{pasirPasang, "0.023"})
		}
	}
	g.add("4.2.2.1", "Acian semen", "m2", ck, f("1"), part{pekerja, "0.2"}, part{tukangBatu, "0.1"}, part{mandor, "0.01"}, part{semen, "3.25"})
	g.add("4.2.2.2", "Pemasangan benangan dinding", "m'", ck, f("1"), part{pekerja, "0.1"}, part{tukangBatu, "0.05"}, part{semen, "1.2"}, part{semenWarna, "0.1"})
	// 5.1 Beton
	grades := []string{"7,4", "9,8", "12,2", "14,5", "16,9", "19,3", "21,7", "24,0", "26,4", "28,8", "31,2"}
	n = 0
	for gi, gr := range grades {
		cem := f("230").Add(decimal.NewFromInt(int64(gi * 17)))
		for mi, how := range []string{"manual", "dengan molen", "ready mix"} {
			n++
			name := fmt.Sprintf("Pembuatan 1 m3 beton mutu fc' = %s MPa (%s)", gr, how)
			switch mi {
			case 2:
				g.add(fmt.Sprintf("5.1.1.%d", n), name, "m3", ck, f("1"),
					part{pekerja, "1.0"}, part{tukangBatu, "0.25"}, part{mandor, "0.1"},
					part{readyMix, "1.02"}, part{vibrator, "0.25"}, part{ujiMutu, "0.1"})
			default:
				parts := []part{{pekerja, "1.65"}, {tukangBatu, "0.275"}, {kepala, "0.028"}, {mandor, "0.083"},
					{semen, cem.String()}, {pasirBeton, "0.5"}, {kerikil, "0.77"}, {air, "215"}}
				if mi == 1 {
					parts = append(parts, part{molen, "0.25"}, part{vibrator, "0.25"})
				}
				g.add(fmt.Sprintf("5.1.1.%d", n), name, "m3", ck, f("1"), parts...)
			}
		}
	}
	// 5.2 Pembesian
	n = 0
	for _, besi := range []struct {
		name string
		r    Resource
	}{{"besi polos", besiPolos}, {"besi ulir", besiUlir}} {
		for ei, el := range []string{"pondasi", "sloof", "kolom", "balok", "pelat lantai"} {
			n++
			fac := f("1").Add(f("0.05").Mul(decimal.NewFromInt(int64(ei))))
			g.add(fmt.Sprintf("5.2.1.%d", n), fmt.Sprintf("Pembesian 10 kg dengan %s untuk %s", besi.name, el), "10 kg", ck, fac,
				part{pekerja, "0.07"}, part{tukangBesi, "0.07"}, part{kepala, "0.007"}, part{mandor, "0.004"},
				part{besi.r, "10.5"}, part{kawat, "0.15"})
		}
	}
	// 5.3 Bekisting
	n = 0
	for ei, el := range []string{"pondasi", "sloof", "kolom", "balok", "lantai", "dinding", "tangga"} {
		fac := f("1").Add(f("0.1").Mul(decimal.NewFromInt(int64(ei))))
		n++
		g.add(fmt.Sprintf("5.3.1.%d", n), "Pemasangan 1 m2 bekisting untuk "+el, "m2", ck, fac,
			part{pekerja, "0.52"}, part{tukangKayu, "0.26"}, part{kepala, "0.026"}, part{mandor, "0.026"},
			part{kayu3, "0.04"}, part{paku, "0.3"}, part{minyak, "0.1"}, part{alatBantu, "0.1"})
		n++
		g.add(fmt.Sprintf("5.3.1.%d", n), "Pemasangan 1 m2 bekisting multipleks untuk "+el, "m2", ck, fac,
			part{pekerja, "0.66"}, part{tukangKayu, "0.33"}, part{kepala, "0.033"}, part{mandor, "0.033"},
			part{multipleks, "0.35"}, part{kayu3, "0.015"}, part{paku, "0.4"}, part{minyak, "0.2"})
	}
	// 6.1 Lantai dan dinding keramik
	n = 0
	for i, size := range []string{"20x20", "30x30", "40x40", "50x50", "60x60"} {
		k := g.r("BHN", fmt.Sprintf("M.4%d", i), "Keramik "+size+" cm", "m2", int64(75000+i*20000))
		for _, kind := range []string{"polos", "motif"} {
			n++
			g.add(fmt.Sprintf("6.1.1.%d", n), fmt.Sprintf("Pemasangan lantai keramik %s ukuran %s cm", kind, size), "m2", ck, f("1").Sub(f("0.05").Mul(decimal.NewFromInt(int64(i)))),
				part{pekerja, "0.7"}, part{tukangBatu, "0.35"}, part{kepala, "0.035"}, part{mandor, "0.035"},
				part{k, "1.05"}, part{semen, "10"}, part{pasirPasang, "0.045"}, part{semenWarna, "1.5"})
		}
	}
	for i, size := range []string{"20x25", "20x40", "25x40"} {
		k := g.r("BHN", fmt.Sprintf("M.5%d", i), "Keramik dinding "+size+" cm", "m2", int64(85000+i*15000))
		g.add(fmt.Sprintf("6.1.2.%d", i+1), "Pemasangan dinding keramik ukuran "+size+" cm", "m2", ck, f("1"),
			part{pekerja, "0.9"}, part{tukangBatu, "0.45"}, part{kepala, "0.045"}, part{mandor, "0.045"},
			part{k, "1.05"}, part{semen, "9.3"}, part{pasirPasang, "0.018"}, part{semenWarna, "0.94"})
	}
	// 7.1 Pengecatan
	n = 0
	for si, surf := range []struct {
		name string
		cat  Resource
	}{{"tembok baru", catTembok}, {"tembok lama", catTembok}, {"bidang kayu baru", catKayu}, {"bidang kayu lama", catKayu}, {"bidang besi", catKayu}} {
		for li, layers := range []string{"1 lapis plamir, 1 lapis cat dasar, 2 lapis cat penutup", "1 lapis cat dasar, 2 lapis cat penutup", "2 lapis cat penutup", "3 lapis cat penutup"} {
			n++
			fac := f("1").Sub(f("0.1").Mul(decimal.NewFromInt(int64(li)))).Add(f("0.05").Mul(decimal.NewFromInt(int64(si))))
			parts := []part{{pekerja, "0.02"}, {tukangCat, "0.063"}, {kepala, "0.0063"}, {mandor, "0.0025"}, {surf.cat, "0.26"}}
			if li < 2 {
				parts = append(parts, part{catDasar, "0.1"})
			}
			if li == 0 {
				parts = append(parts, part{plamir, "0.1"})
			}
			g.add(fmt.Sprintf("7.1.1.%d", n), fmt.Sprintf("Pengecatan %s (%s)", surf.name, layers), "m2", ck, fac, parts...)
		}
	}
	// 8.1 Kusen dan atap
	kayu := map[string]Resource{
		"I": g.r("BHN", "M.25", "Kayu kelas I", "m3", 9500000), "II": g.r("BHN", "M.26", "Kayu kelas II", "m3", 6500000), "III": kayu3,
	}
	n = 0
	for _, what := range []string{"pintu", "jendela"} {
		for _, kl := range []string{"I", "II", "III"} {
			n++
			g.add(fmt.Sprintf("8.1.1.%d", n), fmt.Sprintf("Pembuatan dan pemasangan 1 m3 kusen %s kayu kelas %s", what, kl), "m3", ck, f("1"),
				part{pekerja, "6"}, part{tukangKayu, "18"}, part{kepala, "1.8"}, part{mandor, "0.3"},
				part{kayu[kl], "1.2"}, part{paku, "1.25"}, part{lem, "1"})
		}
	}
	n = 0
	for _, name := range []string{"genteng keramik", "genteng beton", "seng gelombang BJLS 0,3", "metal pasir"} {
		qty := map[string]string{"genteng keramik": "25", "genteng beton": "11", "seng gelombang BJLS 0,3": "0.5", "metal pasir": "0.75"}[name]
		n++
		g.add(fmt.Sprintf("8.2.1.%d", n), "Pemasangan penutup atap "+name, "m2", ck, f("1"),
			part{pekerja, "0.15"}, part{tukangKayu, "0.075"}, part{kepala, "0.0075"}, part{mandor, "0.008"},
			part{genteng[name], qty}, part{paku, "0.05"})
	}
	// 9.1 Pipa
	n = 0
	for di, dia := range []string{"1/2", "3/4", "1", "1 1/4", "1 1/2", "2", "3", "4"} {
		for ti, typ := range []string{"AW", "D"} {
			p := g.r("BHN", fmt.Sprintf("M.6%d%d", di, ti), fmt.Sprintf("Pipa PVC %s diameter %s\"", typ, dia), "m'", int64(9000+di*9000-ti*2500))
			n++
			fac := f("1").Add(f("0.12").Mul(decimal.NewFromInt(int64(di))))
			g.add(fmt.Sprintf("9.1.1.%d", n), fmt.Sprintf("Pemasangan 1 m' pipa PVC tipe %s diameter %s\"", typ, dia), "m'", ck, fac,
				part{pekerja, "0.036"}, part{tukangPipa, "0.06"}, part{kepala, "0.006"}, part{mandor, "0.0018"},
				part{p, "1.2"}, part{lem, "0.01"})
		}
	}
	// 10.1 Jalan
	for i, agg := range []string{"A", "B", "S"} {
		g.add(fmt.Sprintf("10.1.1.%d", i+1), "Lapis pondasi agregat kelas "+agg, "m3", bm, f("1"),
			part{pekerja, "0.0178"}, part{mandor, "0.0018"}, part{operator, "0.01"},
			part{kerikil, "1.258"}, part{dumpTruck, "0.0612"}, part{stamper, "0.0143"})
	}
	// Entries below were added in catalog version 2; new groups go at the
	// end so existing ids keep their meaning.
	// 1.1 Persiapan dan bongkaran
	for i, what := range []string{"ringan (semak dan rumput)", "sedang (semak dan pohon kecil)", "berat (pohon dan akar)"} {
		g.add(fmt.Sprintf("1.1.1.%d", i+1), "Pembersihan lapangan "+what, "m2", ck, f("1").Add(f("0.8").Mul(decimal.NewFromInt(int64(i)))),
			part{pekerja, "0.1"}, part{mandor, "0.05"}, part{alatBantu, "0.02"})
	}
	for i, dia := range []string{"15-30 cm", "30-50 cm", "di atas 50 cm"} {
		g.add(fmt.Sprintf("1.1.2.%d", i+1), "Penebangan pohon diameter "+dia+" dan pembuangan akar", "batang", ck, f("1").Add(f("1.5").Mul(decimal.NewFromInt(int64(i)))),
			part{pekerja, "1.0"}, part{mandor, "0.1"}, part{alatBantu, "0.5"})
	}
	g.add("1.1.3.1", "Pengukuran dan pemasangan bouwplank", "m'", ck, f("1"),
		part{pekerja, "0.1"}, part{tukangKayu, "0.1"}, part{kepala, "0.01"}, part{mandor, "0.005"},
		part{kayu3, "0.012"}, part{paku, "0.02"})
	for i, what := range []string{"pasangan bata", "beton tidak bertulang", "beton bertulang", "lantai keramik", "plesteran dinding"} {
		unit := map[bool]string{true: "m2", false: "m3"}[i >= 3]
		g.add(fmt.Sprintf("1.1.4.%d", i+1), "Pembongkaran "+what, unit, ck, f("1").Add(f("0.6").Mul(decimal.NewFromInt(int64(i%3)))),
			part{pekerja, "0.9"}, part{mandor, "0.045"}, part{alatBantu, "0.2"})
	}
	// 3.2 Pondasi tiang
	for i, size := range []string{"20x20", "25x25", "30x30", "40x40"} {
		tiang := g.r("BHN", fmt.Sprintf("M.7%d", i), "Tiang pancang beton "+size+" cm", "m'", int64(185000+i*85000))
		g.add(fmt.Sprintf("3.2.1.%d", i+1), "Pemancangan tiang pancang beton "+size+" cm", "m'", ck, f("1").Add(f("0.2").Mul(decimal.NewFromInt(int64(i)))),
			part{pekerja, "0.1"}, part{tukangBatu, "0.05"}, part{mandor, "0.01"}, part{operator, "0.03"}, part{tiang, "1.0"},
			part{g.r("ALT", "E.07", "Diesel hammer", "jam", 750000), "0.03"})
	}
	// 6.2 Plafon dan paving
	for i, board := range []string{"gipsum 9 mm", "GRC 4 mm", "triplek 4 mm", "kalsiboard 4,5 mm"} {
		b := g.r("BHN", fmt.Sprintf("M.8%d", i), "Papan plafon "+board, "lembar", int64(65000+i*12000))
		for j, frame := range []string{"rangka kayu", "rangka hollow galvalum"} {
			fr := g.r("BHN", fmt.Sprintf("M.9%d", j), "Bahan "+frame, "m2", int64(45000+j*20000))
			g.add(fmt.Sprintf("6.2.1.%d", i*2+j+1), fmt.Sprintf("Pemasangan plafon %s %s", board, frame), "m2", ck, f("1"),
				part{pekerja, "0.1"}, part{tukangKayu, "0.2"}, part{kepala, "0.02"}, part{mandor, "0.005"},
				part{b, "0.364"}, part{fr, "1.0"}, part{paku, "0.11"})
		}
	}
	for i, t := range []string{"6", "8", "10"} {
		for j, color := range []string{"natural", "warna"} {
			pv := g.r("BHN", fmt.Sprintf("M.P%d%d", i, j), fmt.Sprintf("Paving block tebal %s cm %s", t, color), "m2", int64(72000+i*14000+j*9000))
			g.add(fmt.Sprintf("6.3.1.%d", i*2+j+1), fmt.Sprintf("Pemasangan paving block tebal %s cm %s", t, color), "m2", bm, f("1"),
				part{pekerja, "0.25"}, part{tukangBatu, "0.125"}, part{mandor, "0.025"}, part{pv, "1.0"}, part{pasirPasang, "0.05"}, part{stamper, "0.05"})
		}
	}
	// 8.3 Pintu, jendela, kusen aluminium
	for i, kind := range []string{"panel kayu kelas I", "panel kayu kelas II", "double triplek", "kaca rangka kayu", "PVC"} {
		d := g.r("BHN", fmt.Sprintf("M.D%d", i), "Daun pintu "+kind, "m2", int64(450000+i*90000))
		g.add(fmt.Sprintf("8.3.1.%d", i+1), "Pembuatan dan pemasangan daun pintu "+kind, "m2", ck, f("1"),
			part{pekerja, "1.0"}, part{tukangKayu, "3.0"}, part{kepala, "0.3"}, part{mandor, "0.05"}, part{d, "1.0"}, part{lem, "0.5"})
	}
	for i, profile := range []string{"3 inci", "4 inci"} {
		for j, color := range []string{"silver", "coklat", "hitam"} {
			al := g.r("BHN", fmt.Sprintf("M.A%d%d", i, j), fmt.Sprintf("Profil aluminium %s %s", profile, color), "m'", int64(98000+i*35000+j*6000))
			g.add(fmt.Sprintf("8.3.2.%d", i*3+j+1), fmt.Sprintf("Pemasangan kusen aluminium %s warna %s", profile, color), "m'", ck, f("1"),
				part{pekerja, "0.035"}, part{tukangKayu, "0.35"}, part{kepala, "0.035"}, part{mandor, "0.002"}, part{al, "1.1"})
		}
	}
	for i, what := range []string{"kayu kelas II", "baja ringan"} {
		m := g.r("BHN", fmt.Sprintf("M.R%d", i), "Bahan rangka atap "+what, "m2", int64(120000+i*30000))
		g.add(fmt.Sprintf("8.4.1.%d", i+1), "Pemasangan rangka atap "+what, "m2", ck, f("1"),
			part{pekerja, "0.2"}, part{tukangKayu, "0.4"}, part{kepala, "0.04"}, part{mandor, "0.01"}, part{m, "1.0"}, part{paku, "0.1"})
	}
	// 9.2 Saluran
	for i, size := range []string{"30", "40", "50", "60", "80", "100"} {
		u := g.r("BHN", fmt.Sprintf("M.U%d", i), fmt.Sprintf("U-ditch %sx%s cm", size, size), "buah", int64(350000+i*160000))
		g.add(fmt.Sprintf("9.2.1.%d", i+1), fmt.Sprintf("Pemasangan saluran U-ditch %sx%s cm", size, size), "m'", sda, f("1").Add(f("0.15").Mul(decimal.NewFromInt(int64(i)))),
			part{pekerja, "0.3"}, part{tukangBatu, "0.1"}, part{mandor, "0.03"}, part{u, "0.833"}, part{semen, "3"}, part{pasirPasang, "0.01"},
			part{excavator, "0.02"})
	}
	// 10.2 Perkerasan aspal
	for i, layer := range []string{"AC-WC tebal 4 cm", "AC-BC tebal 6 cm", "AC-Base tebal 7,5 cm", "Lapis penetrasi macadam", "Laburan aspal dua lapis (Burda)"} {
		asp := g.r("BHN", fmt.Sprintf("M.B%d", i), "Campuran aspal "+layer, "ton", int64(1150000+i*40000))
		g.add(fmt.Sprintf("10.2.1.%d", i+1), "Pekerjaan lapis "+layer, "m2", bm, f("1").Add(f("0.4").Mul(decimal.NewFromInt(int64(i%3)))),
			part{pekerja, "0.006"}, part{mandor, "0.0006"}, part{operator, "0.003"}, part{asp, "0.095"},
			part{g.r("ALT", "E.08", "Asphalt finisher", "jam", 650000), "0.004"}, part{g.r("ALT", "E.09", "Tandem roller", "jam", 420000), "0.006"})
	}
	res := make([]Resource, 0, len(g.res))
	for _, r := range g.res {
		res = append(res, r)
	}
	sortResources(res)
	return g.entries, res
}

func sortResources(rs []Resource) {
	order := map[string]int{"TK": 0, "BHN": 1, "ALT": 2, "LAIN": 3}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0; j-- {
			a, b := rs[j-1], rs[j]
			if order[a.Kategori] < order[b.Kategori] || (a.Kategori == b.Kategori && a.Kode <= b.Kode) {
				break
			}
			rs[j-1], rs[j] = b, a
		}
	}
}

// basePrice is the seeded price of a resource code.
func basePrices() map[string]Resource {
	_, res := Catalog()
	m := make(map[string]Resource, len(res))
	for _, r := range res {
		m[r.Kategori+"|"+r.Kode] = r
	}
	return m
}

// ensureCatalog writes the catalog once per database, and again when the
// generator's version changed (rows are updated in place: ids stay, and
// projects keep their own snapshot of anything they cloned).
func (s *Store) ensureCatalog(ctx context.Context, tx *sql.Tx) error {
	var v string
	err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'catalog_version'").Scan(&v)
	if err == nil && v == CatalogVersion {
		return nil
	}
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("read catalog version: %w", err)
	}
	entries, _ := Catalog()
	insA, err := tx.PrepareContext(ctx, `INSERT INTO ref_ahsp(id, kode_ahsp, nama_ahsp, satuan, sumber) VALUES(?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET kode_ahsp = excluded.kode_ahsp, nama_ahsp = excluded.nama_ahsp, satuan = excluded.satuan, sumber = excluded.sumber`)
	if err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	defer insA.Close()
	insR, err := tx.PrepareContext(ctx, "INSERT INTO ref_rincian(ref_ahsp_id, ordering, kategori, kode, uraian, satuan, koefisien) VALUES(?,?,?,?,?,?,?)")
	if err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	defer insR.Close()
	if _, err := tx.ExecContext(ctx, "DELETE FROM ref_rincian"); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	for i, e := range entries {
		id := int64(i + 1)
		if _, err := insA.ExecContext(ctx, id, e.Kode, e.Nama, e.Satuan, e.Sumber); err != nil {
			return fmt.Errorf("write catalog entry %s: %w", e.Kode, err)
		}
		for j, it := range e.Items {
			if _, err := insR.ExecContext(ctx, id, j+1, it.Kategori, it.Kode, it.Uraian, it.Satuan, it.Koefisien.String()); err != nil {
				return fmt.Errorf("write catalog entry %s: %w", e.Kode, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta(key, value) VALUES('catalog_version', ?)", CatalogVersion); err != nil {
		return fmt.Errorf("write catalog version: %w", err)
	}
	return nil
}
