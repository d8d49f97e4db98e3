package client

import (
	"errors"
	"html"
	"regexp"
	"strings"
)

// ErrLoginThrottled means the deployment refused a login attempt for its
// rate: a 429, or a 200 login page whose error is not the wrong-credentials
// message (the app's per-username lockout after failed logins).
var ErrLoginThrottled = errors.New("login throttled")

// WrongCredentialPhrases are parts of the messages a login form shows for
// bad credentials (Django, django-allauth and the AHSP app, Indonesian and
// English). A login page with an error matching none of them, for a
// credential that is meant to be valid, is read as throttling.
var WrongCredentialPhrases = []string{
	"tidak benar", "tidak cocok", "tidak valid", "salah",
	"not correct", "incorrect", "invalid", "did not match", "do not match", "wrong",
}

// ThrottlePhrases recognise a lockout or rate-limit message outright
// (checked before the wrong-credential phrases: "terlalu banyak percobaan
// masuk yang gagal" names failed logins, too).
var ThrottlePhrases = []string{
	"terlalu banyak", "coba lagi nanti", "too many", "try again later", "locked", "terkunci",
}

// alertElem finds an element a login page marks as an error: role="alert",
// or a class naming an alert or an error list (Bootstrap .alert-danger,
// Django's .errorlist, the app's .dp-alert-error).
var alertElem = regexp.MustCompile(`(?is)<(div|p|ul|li|span|section)\b[^>]*(?:role=["']alert["']|class=["'][^"']*(?:alert|errorlist|error)[^"']*["'])[^>]*>(.*?)</(?:div|p|ul|li|span|section)>`)

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

// LoginPageError returns the text of the first error alert of a login page,
// "" when it shows none.
func LoginPageError(page []byte) string {
	for _, m := range alertElem.FindAllSubmatch(page, -1) {
		t := strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(string(m[2]), " "))), " ")
		if t != "" {
			return t
		}
	}
	return ""
}

// LoginThrottled reports whether a login page answered with 200 says the
// attempt was refused for its rate rather than for its credentials: the
// form is shown again with an error that is a known lockout message, or at
// least not a wrong-credentials one. It returns the error text.
func LoginThrottled(page []byte) (string, bool) {
	if _, form := FormCSRFToken(page); !form {
		return "", false
	}
	msg := LoginPageError(page)
	if msg == "" {
		return "", false
	}
	low := strings.ToLower(msg)
	for _, p := range ThrottlePhrases {
		if strings.Contains(low, p) {
			return msg, true
		}
	}
	for _, p := range WrongCredentialPhrases {
		if strings.Contains(low, p) {
			return msg, false
		}
	}
	return msg, true
}
