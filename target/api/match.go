package api

import "strings"

// apiRoot starts every project API path in every URL family.
const apiRoot = "/detail_project/api/"

// SplitProjectPath reads a project API request path, or a full URL, or a
// path below a mount prefix ("/ahsp/detail_project/api/v2/project/3/rekap/"):
// its URL family, project id and the rest relative to the project prefix
// ("rekap/"). ok is false for any other path.
func SplitProjectPath(path string) (v Version, pid int, rest string, ok bool) {
	if i := strings.Index(path, "://"); i >= 0 { // a full URL: drop scheme and host
		j := strings.IndexByte(path[i+3:], '/')
		if j < 0 {
			return "", 0, "", false
		}
		path = path[i+3+j:]
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	i := strings.Index(path, apiRoot)
	if i < 0 {
		return "", 0, "", false
	}
	rest = path[i+len(apiRoot):]
	v = Legacy
	for _, cand := range []Version{V1, V2} {
		if r, found := strings.CutPrefix(rest, string(cand)+"/"); found {
			v, rest = cand, r
			break
		}
	}
	rest, found := strings.CutPrefix(rest, "project/")
	if !found {
		return "", 0, "", false
	}
	j := strings.IndexByte(rest, '/')
	if j <= 0 || j > 9 || !allDigits(rest[:j]) {
		return "", 0, "", false
	}
	for _, c := range rest[:j] {
		pid = pid*10 + int(c-'0')
	}
	return v, pid, rest[j+1:], true
}

// OperationAt finds the operation whose path template matches rest (the
// part after the project prefix; {id} is digits). method "" matches any.
func OperationAt(method, rest string) (Operation, bool) {
	for _, op := range Operations {
		if (method == "" || op.Method == method) && matchTemplate(op.Path, rest) {
			return op, true
		}
	}
	return Operation{}, false
}

// Match finds the operation and URL family of a project API request, from
// its method ("" matches any) and its path or URL. Every caller that names
// the operation of a request it saw uses this.
func Match(method, path string) (Operation, Version, bool) {
	v, _, rest, ok := SplitProjectPath(path)
	if !ok {
		return Operation{}, "", false
	}
	op, ok := OperationAt(method, rest)
	if !ok {
		return Operation{}, "", false
	}
	return op, v, true
}

func matchTemplate(tmpl, p string) bool {
	before, after, hasID := strings.Cut(tmpl, "{id}")
	if !hasID {
		return tmpl == p
	}
	if len(p) < len(before)+len(after)+1 || !strings.HasPrefix(p, before) || !strings.HasSuffix(p, after) {
		return false
	}
	return allDigits(p[len(before) : len(p)-len(after)])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
