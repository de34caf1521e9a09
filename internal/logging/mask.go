package logging

import (
	"log/slog"
	"regexp"
	"strings"
)

// masked replaces every hidden value. It is fixed-length so that not even the
// length of a secret leaks.
const masked = "***"

// Secret is a string that never appears in logs or fmt output: it logs and
// prints as "***". Convert back with string(s) where the real value is
// needed (e.g. to dial).
type Secret string

// LogValue implements slog.LogValuer. Handlers resolve it before writing, so
// the value is hidden even by handlers that do not use [ReplaceAttr].
func (Secret) LogValue() slog.Value { return slog.StringValue(masked) }

// String hides the value from fmt's %v, %s and %q as well.
func (Secret) String() string { return masked }

// GoString hides the value from %#v.
func (Secret) GoString() string { return `logging.Secret("***")` }

// sensitiveParts are substrings of a lower-cased key that mark its value as
// secret. Matching on substrings errs towards hiding: "db_password_file" is
// masked too, which costs a little debugging but leaks nothing.
var sensitiveParts = []string{
	"password", "passwd", "passphrase",
	"secret", "token", "credential", "authorization", "cookie", "signature",
	"apikey", "api_key", "api-key", "accesskey", "privatekey",
}

// SensitiveKey reports whether an attribute or parameter named key holds a
// secret: its lower-cased form contains one of password, passwd, passphrase,
// secret, token, credential, authorization, cookie, signature, apikey,
// api_key, accesskey or privatekey, or it is a "…_key"-style name
// (access_key, secret-key, sse.key, accessKey). Names that merely start with
// "key", such as keyframe or key_frames, are not sensitive.
func SensitiveKey(key string) bool {
	lower := strings.ToLower(key)
	for _, p := range sensitiveParts {
		if strings.Contains(lower, p) {
			return true
		}
	}
	for _, sep := range []string{"_key", "-key", ".key"} {
		if strings.HasSuffix(lower, sep) && len(lower) > len(sep) {
			return true
		}
	}
	// camelCase: accessKey, privateKey (but not "monkey" or "Key" alone).
	if n := len(key); n > 3 && strings.HasSuffix(key, "Key") {
		c := key[n-4]
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	return false
}

var (
	// urlUserinfo matches "scheme://user:password@": everything between
	// "://" and the last "@" before the host ends (at /, ?, # or a space),
	// so unescaped "@" in passwords are covered too.
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#]*@`)
	// keyValue matches name=value pairs as found in URL queries
	// (?password=…&X-Amz-Signature=…), libpq DSNs (host=h password='p q')
	// and ADO-style strings (User ID=u;Password=p), with quoted values.
	keyValue = regexp.MustCompile(`(^|[\s?&;,])([A-Za-z_][A-Za-z0-9_.\-]*)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;,#]*)`)
)

// MaskURL hides credentials in s, which may be a URL, a DSN or a longer text
// quoting one (an error message): the user:password part of every URL
// (postgres://u:p@db/x → postgres://***@db/x; user names are hidden too, as
// for S3 they are access key IDs), and the value of every sensitive name=value
// parameter (see [SensitiveKey]), as in presigned S3 query strings or libpq
// "host=db password=p" DSNs. Everything else is kept so the log still says
// which host was dialled.
func MaskURL(s string) string {
	s = urlUserinfo.ReplaceAllString(s, "${1}"+masked+"@")
	return keyValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValue.FindStringSubmatch(m)
		if !SensitiveKey(sub[2]) {
			return m
		}
		return sub[1] + sub[2] + "=" + masked
	})
}
