package wscheck

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
)

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// frame is one WebSocket frame as read (RFC 6455, section 5.2).
type frame struct {
	fin     bool
	opcode  byte
	masked  bool
	length  int64
	payload []byte // at most the limit given to readFrame; the rest is discarded
}

// readFrame reads one frame, keeping at most limit bytes of its payload.
func readFrame(br *bufio.Reader, limit int64) (frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, opcode: h[0] & 0x0F, masked: h[1]&0x80 != 0}
	if h[0]&0x70 != 0 {
		return f, fmt.Errorf("reserved bits set (%#x) though no extension was negotiated", h[0]&0x70)
	}
	switch n := h[1] & 0x7F; n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return f, err
		}
		f.length = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return f, err
		}
		f.length = int64(binary.BigEndian.Uint64(b[:]) & (1<<63 - 1))
	default:
		f.length = int64(n)
	}
	var mask [4]byte
	if f.masked {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return f, err
		}
	}
	keep := min(f.length, limit)
	f.payload = make([]byte, keep)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return f, err
	}
	if _, err := io.CopyN(io.Discard, br, f.length-keep); err != nil {
		return f, err
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= mask[i%4]
		}
	}
	return f, nil
}

// closeFrame is a client's (masked) close frame with code.
func closeFrame(code uint16) []byte {
	b := []byte{0x80 | opClose, 0x80 | 2, 0, 0, 0, 0, 0, 0}
	_, _ = rand.Read(b[2:6])
	binary.BigEndian.PutUint16(b[6:], code)
	for i := range 2 {
		b[6+i] ^= b[2+i%4]
	}
	return b
}
