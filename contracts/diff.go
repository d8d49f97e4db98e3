package contracts

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/ahsp-harness/harness/check"
)

// ChangeKind names one kind of difference between two contracts.
type ChangeKind string

// Change kinds reported by the classifier.
const (
	OperationRemoved ChangeKind = "operation-removed"
	OperationAdded   ChangeKind = "operation-added"
	StatusRemoved    ChangeKind = "status-removed"
	StatusAdded      ChangeKind = "status-added"
	MediaTypeChanged ChangeKind = "media-type-changed"
	RequestRemoved   ChangeKind = "request-body-removed"
	RequestAdded     ChangeKind = "request-body-added"
	FieldRemoved     ChangeKind = "field-removed"
	FieldAdded       ChangeKind = "field-added"
	FieldRenamed     ChangeKind = "field-renamed"
	TypeChanged      ChangeKind = "type-changed"
	EnumNarrowed     ChangeKind = "enum-narrowed"
	EnumWidened      ChangeKind = "enum-widened"
	BecameRequired   ChangeKind = "became-required"
	BecameOptional   ChangeKind = "became-optional"
	PatternChanged   ChangeKind = "pattern-changed"
	BecameClosed     ChangeKind = "became-closed"
)

// Change is one classified difference between an old and a new contract.
type Change struct {
	Operation string     `json:"operation"`
	Kind      Kind       `json:"kind"`
	Status    int        `json:"status,omitempty"`
	Path      string     `json:"path,omitempty"`
	Change    ChangeKind `json:"change"`
	Old       string     `json:"old,omitempty"`
	New       string     `json:"new,omitempty"`
	Breaking  bool       `json:"breaking"`
	// Accepted: a compat.yaml entry declares this difference deliberate.
	Accepted bool   `json:"accepted,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Where is "<operation> <status|request>".
func (c Change) Where() string {
	if c.Kind == Request {
		return c.Operation + " request"
	}
	if c.Status == 0 {
		return c.Operation
	}
	return fmt.Sprintf("%s %d", c.Operation, c.Status)
}

// DiffShapes classifies the differences between two shapes of the same
// message. kind decides the direction: a response is produced by the server
// (clients break when it offers less or something unexpected), a request by
// the client (clients break when the server accepts less).
func DiffShapes(old, new *Shape, kind Kind) []Change {
	var out []Change
	removed := map[string]bool{}
	for _, p := range old.Paths() {
		of := old.Fields[p]
		nf, ok := new.Fields[p]
		if !ok {
			if removed[parent(p)] && p != "" {
				removed[p] = true
				continue
			}
			if new.Inferred {
				// Only what was observed can be judged: an optional field, one
				// under a never-seen parent, or the items of arrays that were
				// always empty may simply not have occurred.
				if _, seen := new.Fields[parent(p)]; !seen || !of.Required || strings.HasSuffix(p, "[]") {
					continue
				}
			}
			removed[p] = true
			breaking := true
			if kind == Request {
				pf := new.Fields[parent(p)]
				breaking = pf != nil && pf.Closed
			}
			out = append(out, Change{Path: p, Change: FieldRemoved, Old: describe(of), Breaking: breaking})
			continue
		}
		out = append(out, compareField(of, nf, kind, new.Inferred)...)
	}
	added := map[string]bool{}
	for _, p := range new.Paths() {
		if _, ok := old.Fields[p]; ok {
			continue
		}
		if added[parent(p)] && p != "" {
			added[p] = true
			continue
		}
		if _, seen := old.Fields[parent(p)]; !seen && p != "" && !removed[parent(p)] {
			// Children of a parent the old shape left open (e.g. "any").
			continue
		}
		added[p] = true
		nf := new.Fields[p]
		breaking := kind == Request && nf.Required
		out = append(out, Change{Path: p, Change: FieldAdded, New: describe(nf), Breaking: breaking})
	}
	return detectRenames(out)
}

func compareField(of, nf *Field, kind Kind, inferred bool) []Change {
	var out []Change
	add := func(k ChangeKind, o, n string, breaking bool) {
		out = append(out, Change{Path: of.Path, Change: k, Old: o, New: n, Breaking: breaking})
	}
	// Types: a response breaks clients when it may now carry a type they did
	// not expect; a request breaks them when the server stops accepting one.
	// Observed values that are a subset of the declared types are what a
	// sample looks like (only nulls seen, whole numbers in a number field).
	if !sameTypes(of.Types, nf.Types) && !(inferred && acceptsAll(of.Types, nf.Types)) {
		var breaking bool
		if kind == Response {
			breaking = !acceptsAll(of.Types, nf.Types)
		} else {
			breaking = !acceptsAll(nf.Types, of.Types)
		}
		add(TypeChanged, typeList(of.Types), typeList(nf.Types), breaking)
	}
	if of.Required != nf.Required {
		switch {
		case of.Required && kind == Response:
			add(BecameOptional, "required", "optional", true)
		case !of.Required && kind == Request:
			add(BecameRequired, "optional", "required", true)
		case !inferred:
			if of.Required {
				add(BecameOptional, "required", "optional", false)
			} else {
				add(BecameRequired, "optional", "required", false)
			}
		}
	}
	if inferred {
		return out
	}
	if lost, gained := enumDelta(of.Enum, nf.Enum); len(lost) > 0 || len(gained) > 0 {
		o, n := enumList(of.Enum), enumList(nf.Enum)
		if len(lost) > 0 {
			add(EnumNarrowed, o, n, kind == Request)
		}
		if len(gained) > 0 {
			add(EnumWidened, o, n, kind == Response)
		}
	}
	if of.Pattern != nf.Pattern {
		var breaking bool
		switch {
		case of.Pattern == "":
			breaking = kind == Request
		case nf.Pattern == "":
			breaking = kind == Response
		default:
			breaking = true
		}
		add(PatternChanged, orNone(of.Pattern), orNone(nf.Pattern), breaking)
	}
	if !of.Closed && nf.Closed && kind == Request {
		add(BecameClosed, "additional properties allowed", "additional properties rejected", true)
	}
	return out
}

// detectRenames pairs a removed and an added field under the same parent
// with a compatible type: most likely one field renamed. When several could
// pair, the most similar names pair first. It stays breaking; the pair is
// reported as one change naming both.
func detectRenames(cs []Change) []Change {
	type pair struct {
		r, a  int
		score float64
	}
	var pairs []pair
	for i, r := range cs {
		if r.Change != FieldRemoved {
			continue
		}
		for j, a := range cs {
			if a.Change == FieldAdded && parent(a.Path) == parent(r.Path) && compatibleDescriptions(r.Old, a.New) {
				pairs = append(pairs, pair{i, j, similarity(lastSegment(r.Path), lastSegment(a.Path))})
			}
		}
	}
	sort.SliceStable(pairs, func(x, y int) bool { return pairs[x].score > pairs[y].score })
	used := map[int]bool{}
	var out []Change
	for _, p := range pairs {
		if used[p.r] || used[p.a] {
			continue
		}
		used[p.r], used[p.a] = true, true
		out = append(out, Change{Path: cs[p.r].Path, Change: FieldRenamed, Old: cs[p.r].Path, New: cs[p.a].Path, Breaking: true})
	}
	for i, c := range cs {
		if !used[i] {
			out = append(out, c)
		}
	}
	sortChanges(out)
	return out
}

func lastSegment(p string) string {
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[i+1:]
	}
	return p
}

// similarity is the longest common subsequence of a and b over the longer length.
func similarity(a, b string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(max(len(a), len(b)))
}

// compatibleDescriptions compares "type" parts of two describe() strings.
func compatibleDescriptions(a, b string) bool {
	ta, _, _ := strings.Cut(a, " ")
	tb, _, _ := strings.Cut(b, " ")
	return ta == tb || ta == "number" && tb == "integer" || ta == "integer" && tb == "number"
}

func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Status != b.Status {
			return a.Status < b.Status
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Change < b.Change
	})
}

func describe(f *Field) string {
	s := typeList(f.Types)
	if f.Required {
		s += " required"
	} else {
		s += " optional"
	}
	return s
}

func typeList(ts []string) string {
	if len(ts) == 0 {
		return "any"
	}
	return strings.Join(ts, "|")
}

func enumList(e []string) string {
	if e == nil {
		return "any value"
	}
	return strings.Join(e, ",")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func sameTypes(a, b []string) bool {
	return strings.Join(a, "|") == strings.Join(b, "|")
}

// acceptsAll reports whether a value of any type in ts passes a check for set.
func acceptsAll(set, ts []string) bool {
	if len(set) == 0 {
		return true
	}
	if len(ts) == 0 {
		return false
	}
	for _, t := range ts {
		if !contains(set, t) && !(t == "integer" && contains(set, "number")) {
			return false
		}
	}
	return true
}

func enumDelta(old, new []string) (lost, gained []string) {
	switch {
	case old == nil && new == nil:
		return nil, nil
	case old == nil:
		return []string{"(any)"}, nil
	case new == nil:
		return nil, []string{"(any)"}
	}
	for _, v := range old {
		if !contains(new, v) {
			lost = append(lost, v)
		}
	}
	for _, v := range new {
		if !contains(old, v) {
			gained = append(gained, v)
		}
	}
	return lost, gained
}

// DiffSets compares the contracts of version oldVersion in old with those of
// newVersion in new, operation by operation. mapShape, when not nil, moves an
// old response shape into the new version's layout (v1 -> v2 envelope) before
// comparing; request bodies are compared as they are.
func DiffSets(old *Set, oldVersion string, new *Set, newVersion string, mapShape func(op string, status int, sh *Shape) *Shape) []Change {
	var out []Change
	oldOps, newOps := old.Operations(oldVersion), new.Operations(newVersion)
	for _, op := range oldOps {
		if !contains(newOps, op) {
			out = append(out, Change{Operation: op, Change: OperationRemoved, Breaking: true})
			continue
		}
		out = append(out, diffOperation(old, oldVersion, new, newVersion, op, mapShape)...)
	}
	for _, op := range newOps {
		if !contains(oldOps, op) {
			out = append(out, Change{Operation: op, Change: OperationAdded})
		}
	}
	sortChanges(out)
	return out
}

func diffOperation(old *Set, ov string, new *Set, nv, op string, mapShape func(string, int, *Shape) *Shape) []Change {
	var out []Change
	stamp := func(cs []Change, kind Kind, status int) {
		for i := range cs {
			cs[i].Operation, cs[i].Kind, cs[i].Status = op, kind, status
		}
		out = append(out, cs...)
	}
	oreq, hasOld := old.Get(Key{Version: ov, Operation: op, Kind: Request})
	nreq, hasNew := new.Get(Key{Version: nv, Operation: op, Kind: Request})
	switch {
	case hasOld && !hasNew:
		stamp([]Change{{Change: RequestRemoved, Breaking: true}}, Request, 0)
	case !hasOld && hasNew:
		stamp([]Change{{Change: RequestAdded, Breaking: true}}, Request, 0)
	case hasOld && hasNew:
		stamp(DiffShapes(Flatten(oreq.Schema), Flatten(nreq.Schema), Request), Request, 0)
	}
	newStatuses := new.Statuses(nv, op)
	for _, st := range old.Statuses(ov, op) {
		if !containsInt(newStatuses, st) {
			stamp([]Change{{Change: StatusRemoved, Old: fmt.Sprint(st), Breaking: true}}, Response, st)
			continue
		}
		oe, _ := old.Response(ov, op, st)
		ne, _ := new.Response(nv, op, st)
		if o, n := strings.Join(oe.MediaTypes, "|"), strings.Join(ne.MediaTypes, "|"); o != n {
			// A client is surprised by a media type it has not seen before.
			stamp([]Change{{Change: MediaTypeChanged, Old: o, New: n, Breaking: !acceptsAll(oe.MediaTypes, ne.MediaTypes)}}, Response, st)
		}
		if !oe.JSON() || !ne.JSON() {
			continue
		}
		osh := Flatten(oe.Schema)
		if mapShape != nil {
			osh = mapShape(op, st, osh)
		}
		stamp(DiffShapes(osh, Flatten(ne.Schema), Response), Response, st)
	}
	oldStatuses := old.Statuses(ov, op)
	for _, st := range newStatuses {
		if !containsInt(oldStatuses, st) {
			stamp([]Change{{Change: StatusAdded, New: fmt.Sprint(st)}}, Response, st)
		}
	}
	return out
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Comparison is one breaking-change analysis: the classified changes between
// two sides and the verdict (fail when a breaking change is not accepted).
type Comparison struct {
	Name    string       `json:"name"`
	Old     string       `json:"old"`
	New     string       `json:"new"`
	Status  check.Status `json:"status"`
	Changes []Change     `json:"changes"`
	// Unaccepted counts breaking changes that compat.yaml does not accept.
	Unaccepted int `json:"unaccepted"`
}

// Judge applies the compat entries of scope to the changes and sets the verdict.
func (c *Comparison) Judge(compat *Compat, scope string) {
	c.Unaccepted = 0
	for i := range c.Changes {
		ch := &c.Changes[i]
		if e, ok := compat.Accepts(scope, *ch); ok {
			ch.Accepted, ch.Reason = true, e.Reason
		}
		if ch.Breaking && !ch.Accepted {
			c.Unaccepted++
		}
	}
	c.Status = check.Pass
	if c.Unaccepted > 0 {
		c.Status = check.Fail
	}
}

// glob matches dotted paths: "*" is one segment (or part of one), "**" any
// number of segments, everything else literal.
func glob(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch {
		case strings.HasPrefix(pattern[i:], "**."):
			b.WriteString(`(?:.*\.)?`)
			i += 2
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(`.*`)
			i++
		case pattern[i] == '*':
			b.WriteString(`[^.]*`)
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
