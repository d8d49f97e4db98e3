package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeDjango answers the login dialect: a form with a hidden token, then 302
// plus sessionid when the token and password match.
func fakeDjango(t *testing.T, formHTML string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok123", Path: "/"})
			fmt.Fprint(w, formHTML)
			return
		}
		require.NoError(t, r.ParseForm())
		if r.PostForm.Get("csrfmiddlewaretoken") != "tok123" || r.PostForm.Get("password") != "pw" {
			w.WriteHeader(http.StatusOK) // Django re-renders the form
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s1", Path: "/"})
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/api/echo/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker-Id", "2-999")
		fmt.Fprintf(w, `{"csrf":%q,"xhr":%q}`, r.Header.Get("X-CSRFToken"), r.Header.Get("X-Requested-With"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name     string
		form     string
		password string
		wantErr  string
	}{
		{"name before value", `<input type="hidden" name="csrfmiddlewaretoken" value="tok123">`, "pw", ""},
		{"value before name", `<input value='tok123' type=hidden name='csrfmiddlewaretoken'>`, "pw", ""},
		{"wrong password", `<input type="hidden" name="csrfmiddlewaretoken" value="tok123">`, "nope", "login failed"},
		{"not a login form", `<html>hello</html>`, "pw", "no csrfmiddlewaretoken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeDjango(t, tc.form)
			c, err := New(srv.URL)
			require.NoError(t, err)
			err = c.Login(context.Background(), "user1", tc.password)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "s1", c.SessionID())
			require.Equal(t, "tok123", c.CSRFToken())

			resp, err := c.Do(context.Background(), http.MethodPost, "/api/echo/", map[string]int{"a": 1})
			require.NoError(t, err)
			require.Equal(t, "2-999", resp.Worker())
			var got map[string]string
			require.NoError(t, resp.JSON(&got))
			require.Equal(t, map[string]string{"csrf": "tok123", "xhr": "XMLHttpRequest"}, got)
			require.Contains(t, c.Headers().Get("Cookie"), "sessionid=s1")
		})
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	_, err := New("localhost:8000")
	require.ErrorContains(t, err, "want scheme://host")
}

// TestFormCSRFToken: the one parser of a Django form's token, as a browser
// reads the attribute (entities unescaped), in either attribute order.
func TestFormCSRFToken(t *testing.T) {
	for _, tc := range []struct {
		name, page, want string
		ok               bool
	}{
		{"name before value", `<form><input type="hidden" name="csrfmiddlewaretoken" value="tok123"></form>`, "tok123", true},
		{"value before name, single quotes", `<input value='tok123' type=hidden name='csrfmiddlewaretoken'>`, "tok123", true},
		{"entities unescaped", `<input type="hidden" name="csrfmiddlewaretoken" value="a&amp;b&#43;c">`, "a&b+c", true},
		{"other inputs first", `<input name="login" value="x"><input name="csrfmiddlewaretoken" value="t2">`, "t2", true},
		{"no token", `<html><input name="login" value="x"></html>`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FormCSRFToken([]byte(tc.page))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
