package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/client"
)

func loginPage(alert string) string {
	return `<html><body>` + alert + `<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="tok">` +
		`<input name="login"><input type="password" name="password"></form></body></html>`
}

func TestLoginThrottled(t *testing.T) {
	tests := []struct {
		name, page, msg string
		throttled       bool
	}{
		{"the app's lockout (alert-danger)", loginPage(`<div class="alert alert-danger" role="alert">Terlalu banyak percobaan masuk yang gagal. Coba lagi nanti.</div>`),
			"Terlalu banyak percobaan masuk yang gagal. Coba lagi nanti.", true},
		{"the app's wrong password", loginPage(`<div class="alert alert-danger">Nama pengguna dan/atau kata sandi yang anda masukkan tidak benar.</div>`),
			"Nama pengguna dan/atau kata sandi yang anda masukkan tidak benar.", false},
		{"the reference target's wrong password", loginPage(`<div class="dp-alert dp-alert-error" role="alert">Nama pengguna/email dan kata sandi yang Anda masukkan tidak cocok.</div>`),
			"Nama pengguna/email dan kata sandi yang Anda masukkan tidak cocok.", false},
		{"Django's errorlist, English wrong password", loginPage(`<ul class="errorlist nonfield"><li>Please enter a correct username and password. Note that both fields may be case-sensitive. The username and/or password you specified are not correct.</li></ul>`),
			"Please enter a correct username and password. Note that both fields may be case-sensitive. The username and/or password you specified are not correct.", false},
		{"an unknown error that is not about the credentials", loginPage(`<p class="alert-warning">Akun dibatasi sementara.</p>`), "Akun dibatasi sementara.", true},
		{"a form without any error", loginPage(""), "", false},
		{"an error page without the form", `<div class="alert alert-danger">Too many requests</div>`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := client.LoginThrottled([]byte(tc.page))
			require.Equal(t, tc.throttled, ok)
			require.Equal(t, tc.msg, msg)
		})
	}
}

// TestLoginLockoutIsThrottled: Login reports a 200 lockout page and a 429 as
// ErrLoginThrottled with status 429 (so retries wait them out), a wrong
// password as ErrLoginFailed.
func TestLoginLockoutIsThrottled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		alert  string
		want   error
	}{
		{"lockout page", 200, `<div class="alert alert-danger">Terlalu banyak percobaan masuk yang gagal. Coba lagi nanti.</div>`, client.ErrLoginThrottled},
		{"429", 429, "", client.ErrLoginThrottled},
		{"wrong password", 200, `<div class="alert alert-danger">Nama pengguna dan/atau kata sandi yang anda masukkan tidak benar.</div>`, client.ErrLoginFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok", Path: "/"})
				if r.Method == http.MethodGet {
					fmt.Fprint(w, loginPage(""))
					return
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, loginPage(tc.alert))
			}))
			defer srv.Close()
			c, err := client.New(srv.URL)
			require.NoError(t, err)
			err = c.Login(context.Background(), "u", "p")
			require.True(t, errors.Is(err, tc.want), "%v", err)
			if tc.want == client.ErrLoginThrottled {
				require.Equal(t, http.StatusTooManyRequests, client.StatusOf(err))
			}
		})
	}
}
