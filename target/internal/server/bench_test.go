package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// BenchmarkServeHTTP measures one worker's stack without the network: route,
// db session lookup, limiter (locmem fixed) and headers around a trivial
// handler, so the number is the platform's overhead per request.
func BenchmarkServeHTTP(b *testing.B) {
	a := newApp(b, appOpts{limits: map[string]Limit{"read": {Requests: 1 << 20, Window: time.Minute}}})
	c := a.login(b, 1)
	cookie := "sessionid=" + c.SessionID()
	for _, bc := range []struct{ name, path string }{
		{"health-simple", "/health/simple/"},
		{"api-read", api.Operations[2].URLPath(api.Legacy, project(1), 0)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", bc.path, nil)
					req.Header.Set("Cookie", cookie)
					w := httptest.NewRecorder()
					a.srv.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
