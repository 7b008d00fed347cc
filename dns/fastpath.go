package dns

import (
	"encoding/binary"
	"math/rand/v2"
)

// The fast path answers the common query — A or AAAA for a berth name,
// one question, at most an EDNS0 OPT record — straight from the packet
// bytes into a reused buffer: no parsing into a dns.Msg, no allocation.
// Anything else returns ok=false and takes the general handler.

const (
	typeA    = 1
	typeAAAA = 28
	typeOPT  = 41
	classIN  = 1
	ednsSize = 1232 // the size berth advertises in its own OPT record
)

// fastState is one UDP reader's scratch space.
type fastState struct {
	name  [256]byte
	order []int
	rng   *rand.PCG
}

func newFastState() *fastState {
	return &fastState{
		rng: rand.NewPCG(rand.Uint64(), rand.Uint64()),
	}
}

// fastAnswer builds the reply to pkt for network nt in dst's memory (a
// buffer of at least ednsSize bytes avoids allocation).
func fastAnswer(t *table, nt *netTable, pkt, dst []byte, st *fastState) ([]byte, bool) {
	if nt == nil || len(pkt) < 17 {
		return nil, false
	}
	// Header: a query (QR=0, opcode 0), one question, no answers or
	// authority, at most one additional record (EDNS0).
	if pkt[2]&0xf8 != 0 || binary.BigEndian.Uint16(pkt[4:]) != 1 ||
		binary.BigEndian.Uint16(pkt[6:]) != 0 || binary.BigEndian.Uint16(pkt[8:]) != 0 {
		return nil, false
	}
	arcount := binary.BigEndian.Uint16(pkt[10:])
	if arcount > 1 {
		return nil, false
	}
	n, qend, ok := fastName(pkt, st)
	if !ok || qend+4 > len(pkt) {
		return nil, false
	}
	qtype := binary.BigEndian.Uint16(pkt[qend:])
	if binary.BigEndian.Uint16(pkt[qend+2:]) != classIN || (qtype != typeA && qtype != typeAAAA) {
		return nil, false
	}
	qend += 4
	limit, edns, ok := fastEDNS(pkt[qend:], arcount)
	if !ok {
		return nil, false
	}
	e := nt.names[string(st.name[:n])]
	if e == nil {
		e = t.lookup(nt, string(st.name[:n]))
		if e == nil {
			return nil, false
		}
	}
	return fastWrite(dst, pkt, qend, qtype, e, limit, edns, st), true
}

// fastName copies the question name of pkt, lower case and dot-separated
// without the trailing dot, into st.name. It refuses compression pointers
// and anything unusual.
func fastName(pkt []byte, st *fastState) (n, end int, ok bool) {
	off := 12
	for {
		if off >= len(pkt) {
			return 0, 0, false
		}
		l := int(pkt[off])
		off++
		if l == 0 {
			break
		}
		if l > 63 || off+l > len(pkt) || n+l+1 > len(st.name) {
			return 0, 0, false
		}
		if n > 0 {
			st.name[n] = '.'
			n++
		}
		for _, c := range pkt[off : off+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			} else if c == '.' || c < 0x21 || c > 0x7e {
				return 0, 0, false
			}
			st.name[n] = c
			n++
		}
		off += l
	}
	return n, off, n > 0
}

// fastEDNS checks the additional section: nothing, or one OPT record at
// the root. It returns the UDP size the client accepts.
func fastEDNS(rest []byte, arcount uint16) (limit int, edns, ok bool) {
	if arcount == 0 {
		return 512, false, len(rest) == 0
	}
	if len(rest) < 11 || rest[0] != 0 || binary.BigEndian.Uint16(rest[1:]) != typeOPT {
		return 0, false, false
	}
	if rest[5] != 0 || rest[6] != 0 { // extended rcode / version 0 only
		return 0, false, false
	}
	if 11+int(binary.BigEndian.Uint16(rest[9:])) != len(rest) {
		return 0, false, false
	}
	limit = int(binary.BigEndian.Uint16(rest[3:]))
	limit = max(512, min(limit, ednsSize))
	return limit, true, true
}

// fastWrite assembles the answer: the header, the question as the client
// sent it (its letter case included), the A records in a fresh random
// order with a compression pointer to the question, and an OPT record if
// the client sent one. Records that would not fit set TC.
func fastWrite(dst, pkt []byte, qend int, qtype uint16, e *entry, limit int, edns bool, st *fastState) []byte {
	out := append(dst[:0], pkt[0], pkt[1], 0x84|pkt[2]&0x01, 0x80, 0, 1, 0, 0, 0, 0, 0, 0)
	if edns {
		out[11] = 1
	}
	out = append(out, pkt[12:qend]...)
	optLen := 0
	if edns {
		optLen = 11
	}
	count := 0
	if qtype == typeA {
		fit := (limit - len(out) - optLen) / 16
		k := len(e.ips)
		if k > fit {
			k = fit
			out[2] |= 0x02 // TC
		}
		order := st.shuffle(len(e.ips))
		for _, i := range order[:k] {
			ip := e.ips[i]
			out = append(out, 0xc0, 0x0c, 0, typeA, 0, classIN,
				byte(defaultTTL>>24), byte(defaultTTL>>16), byte(defaultTTL>>8), byte(defaultTTL),
				0, 4, ip[0], ip[1], ip[2], ip[3])
		}
		count = k
	}
	binary.BigEndian.PutUint16(out[6:], uint16(count))
	if edns {
		out = append(out, 0, 0, typeOPT, ednsSize>>8, ednsSize&0xff, 0, 0, 0, 0, 0, 0)
	}
	return out
}

// shuffle returns a random permutation of 0..n-1 in reused memory.
func (st *fastState) shuffle(n int) []int {
	if cap(st.order) < n {
		st.order = make([]int, n)
	}
	o := st.order[:n]
	for i := range o {
		o[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(st.rng.Uint64() % uint64(i+1))
		o[i], o[j] = o[j], o[i]
	}
	return o
}
