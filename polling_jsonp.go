package socketio

import (
	"encoding/json"
	"net/url"
)

// JSONP polling, as Node's engine.io serves it to clients that cannot use
// XMLHttpRequest (socket.io-client 2.x with forceJSONP, or a browser
// without XHR): a session whose handshake has a "j" query parameter
// receives its payloads as a script, ___eio[j]("<payload>");, which the
// client loads with a <script> tag, and sends its own as the field "d" of
// a form it posts. Such a client cannot take binary payloads: its v3
// session gets binary messages in base64.
//
// It is served only with AllowEIO3: only clients of that protocol use it,
// and a script's GET carries no Origin, so no origin policy can keep
// another site from opening a session with the user's cookies and reading
// it through a <script> tag. Without AllowEIO3, j is ignored and the
// payloads are plain (which a script tag cannot run).

// jsonpContentType is the type of a JSONP response: a script (Node's
// engine.io 6 labels it text/plain, which browsers run too).
const jsonpContentType = "text/javascript; charset=UTF-8"

// jsonpHead returns the start of the session's JSONP responses for the
// handshake's "j" value: ___eio[<the digits of j>](.
func jsonpHead(j []byte) []byte {
	head := append(make([]byte, 0, 8+len(j)), "___eio["...)
	for _, c := range j {
		if c >= '0' && c <= '9' {
			head = append(head, c)
		}
	}
	return append(head, "]("...)
}

// appendJSONP appends payload as the JSONP script of head: the payload
// goes as a JavaScript string literal (JSON, whose escaping of U+2028 and
// U+2029 also makes it valid JavaScript).
func appendJSONP(dst, head, payload []byte) []byte {
	lit, _ := json.Marshal(string(payload))
	dst = append(dst, head...)
	dst = append(dst, lit...)
	return append(dst, ");"...)
}

// jsonpPayload returns the payload of a JSONP POST, the form field d;
// ok is false when the body has none (the Node server ignores such a
// POST). The client escapes the payload's newlines as \n and its "\n" as
// "\\n", so that the browser's form encoding keeps them: this undoes it.
func jsonpPayload(body []byte) (payload []byte, ok bool) {
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("d") {
		return nil, false
	}
	d := []byte(form.Get("d"))
	out := make([]byte, 0, len(d))
	for i := 0; i < len(d); i++ {
		switch {
		case d[i] == '\\' && i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'n':
			out = append(out, '\\', 'n') // an escaped "\n": the two characters
			i += 2
		case d[i] == '\\' && i+1 < len(d) && d[i+1] == 'n':
			out = append(out, '\n') // an escaped newline
			i++
		default:
			out = append(out, d[i])
		}
	}
	return out, true
}
