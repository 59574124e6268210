package redisadapter

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// FuzzDecodeEntry: a stream entry of any content (another program may
// write to the stream) is decoded or refused, never a panic, and a
// broadcast entry makes a missed packet or none.
func FuzzDecodeEntry(f *testing.F) {
	f.Add("3", `{"packet":{"type":2,"data":["ev",1],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`)
	// Node's @msgpack/msgpack encoding of a broadcast with a Buffer.
	f.Add("3", "gqZwYWNrZXSDpHR5cGUCpGRhdGGSomV2xAIAAaNuc3ChL6RvcHRzg6Vyb29tc5GhcqZleGNlcHSQpWZsYWdzgA==")
	f.Add("4", `{"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}`)
	f.Add("9", base64.StdEncoding.EncodeToString([]byte{0x81, 0xa6, 'p', 'a', 'c', 'k', 'e', 't', 0xc4, 0x01, 0xff}))
	f.Add("x", "")
	a := &streamsAdapter{clusterNsp: clusterNsp{nsp: "/"}}
	f.Fuzz(func(t *testing.T, typ, data string) {
		values := map[string]any{"uid": "u", "nsp": "/", "type": typ, "data": data}
		if m, _, err := decodeEntry(values); err == nil && m == nil {
			t.Fatal("no message and no error")
		}
		if p := a.missedPacket(redis.XMessage{ID: "1-1", Values: values}, []string{"r", "s"}); p != nil && p.Offset != "1-1" {
			t.Fatalf("missed packet with offset %q", p.Offset)
		}
	})
}

// FuzzDecodeSession: a stored session of any content is decoded or
// refused, never a panic.
func FuzzDecodeSession(f *testing.F) {
	// A session as Node's adapter stores it.
	f.Add("hKNzaWSkc2lkMaNwaWSkcGlkMaVyb29tc5Kkc2lkMaFypGRhdGGCpG5vZGWhQaFukgHLQAQAAAAAAAA=")
	f.Add("")
	f.Add("////")
	f.Fuzz(func(t *testing.T, raw string) {
		if s, err := decodeSession(raw); err == nil && (s == nil || s.ID == "") {
			t.Fatalf("session %+v without an id", s)
		}
	})
}

// TestStreamsWireFromNode decodes what Node's adapter writes (the seeds
// above, made with @msgpack/msgpack 2.8): a broadcast with binary data,
// and a session.
func TestStreamsWireFromNode(t *testing.T) {
	a := &streamsAdapter{clusterNsp: clusterNsp{nsp: "/"}}
	e := redis.XMessage{ID: "5-2", Values: map[string]any{"uid": "u", "nsp": "/", "type": "3",
		"data": "gqZwYWNrZXSDpHR5cGUCpGRhdGGSomV2xAIAAaNuc3ChL6RvcHRzg6Vyb29tc5GhcqZleGNlcHSQpWZsYWdzgA=="}}
	p := a.missedPacket(e, []string{"me", "r"})
	if p == nil || string(p.Text) != `451-["ev",{"_placeholder":true,"num":0},"5-2"]` || len(p.Attachments) != 1 || string(p.Attachments[0]) != "\x00\x01" {
		t.Fatalf("missed packet %+v", p)
	}
	if a.missedPacket(e, []string{"me", "other"}) != nil {
		t.Error("a packet to room r given to a session not in it")
	}
	s, err := decodeSession("hKNzaWSkc2lkMaNwaWSkcGlkMaVyb29tc5Kkc2lkMaFypGRhdGGCpG5vZGWhQaFukgHLQAQAAAAAAAA=")
	if err != nil || s.ID != "sid1" || s.PID != "pid1" || s.UUID != "sid1" || len(s.Rooms) != 2 || s.Rooms[1] != "r" ||
		s.Data["node"] != "A" || fmt.Sprint(s.Data["n"]) != "[1 2.5]" {
		t.Fatalf("session %+v, %v", s, err)
	}
	// And back: what Go stores, Node reads (TestStreamsRecovery); here,
	// Go reads it again.
	raw, err := encodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decodeSession(raw); err != nil || back.ID != s.ID || fmt.Sprint(back.Data) != fmt.Sprint(s.Data) {
		t.Errorf("round trip %+v, %v", back, err)
	}
}
