package socketio

import (
	"bytes"
	"strconv"
	"testing"
)

type benchFile struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// binaryBenchArgs returns n attachments of 1 KiB as top-level arguments and as
// []byte fields of structs.
func binaryBenchArgs(n int) (top, nested []any) {
	for i := 0; i < n; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 1024)
		top = append(top, b)
		nested = append(nested, benchFile{Name: "f" + strconv.Itoa(i), Data: b})
	}
	return top, nested
}

// BenchmarkBinaryEncode measures encoding a BINARY_EVENT from Go values:
// JSON with placeholders plus the list of attachments.
func BenchmarkBinaryEncode(b *testing.B) {
	for _, n := range []int{1, 8} {
		top, nested := binaryBenchArgs(n)
		for _, shape := range []struct {
			name string
			args []any
		}{{"bytes", top}, {"struct", nested}} {
			b.Run(strconv.Itoa(n)+"x1KiB/"+shape.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n * 1024))
				for b.Loop() {
					body, atts, err := encodeValues(nil, "upload", true, shape.args)
					if err != nil || len(atts) != n {
						b.Fatal(err, len(atts))
					}
					_ = appendValuesPacket(nil, sioEvent, "/", 0, false, body, len(atts))
				}
			})
		}
	}
}

// BenchmarkBinaryDecode measures decoding a BINARY_EVENT off the wire: the
// header packet, reassembly of the attachments with placeholder checks
// ("wire"), and then binding the arguments into Go values ("bind").
func BenchmarkBinaryDecode(b *testing.B) {
	for _, n := range []int{1, 8} {
		top, nested := binaryBenchArgs(n)
		for _, shape := range []struct {
			name string
			args []any
		}{{"bytes", top}, {"struct", nested}} {
			body, atts, _ := encodeValues(nil, "upload", true, shape.args)
			wire := appendValuesPacket(nil, sioEvent, "/", 0, false, body, len(atts))[1:] // without the Engine.IO type
			for _, bind := range []bool{false, true} {
				name := strconv.Itoa(n) + "x1KiB/" + shape.name + "/wire"
				if bind {
					name = strconv.Itoa(n) + "x1KiB/" + shape.name + "/bind"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(n * 1024))
					var r reassembler
					dst := make([]any, n)
					for b.Loop() {
						pkt, err := decodeSIOPacket(wire)
						if err != nil {
							b.Fatal(err)
						}
						if done, err := r.packet(pkt, len(wire), 10); err != nil || done {
							b.Fatal(err, done)
						}
						var got [][]byte
						for _, a := range atts {
							p, g, done, err := r.attachment(a, 1<<20)
							if err != nil {
								b.Fatal(err)
							}
							if done {
								pkt, got = p, g
							}
						}
						if len(got) != n {
							b.Fatal("incomplete")
						}
						if !bind {
							continue
						}
						_, args, err := parseEvent(pkt.Data, 256, nil)
						if err != nil {
							b.Fatal(err)
						}
						for i := range dst {
							if shape.name == "bytes" {
								dst[i] = new([]byte)
							} else {
								dst[i] = new(benchFile)
							}
						}
						if err := decodeArgs(args, got, dst); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
