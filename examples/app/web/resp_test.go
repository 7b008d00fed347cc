package main

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeCommand(t *testing.T) {
	got := encodeCommand([]string{"SET", "k", "hello world"})
	want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$11\r\nhello world\r\n"
	if got != want {
		t.Fatalf("encodeCommand = %q, want %q", got, want)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    any
		wantErr string
	}{
		{name: "simple", in: "+PONG\r\n", want: "PONG"},
		{name: "integer", in: ":42\r\n", want: int64(42)},
		{name: "negative integer", in: ":-3\r\n", want: int64(-3)},
		{name: "bulk", in: "$5\r\nhe\r\no\r\n", want: "he\r\no"},
		{name: "empty bulk", in: "$0\r\n\r\n", want: ""},
		{name: "null bulk", in: "$-1\r\n", want: nil},
		{name: "array", in: "*3\r\n:1\r\n$1\r\na\r\n*1\r\n+x\r\n", want: []any{int64(1), "a", []any{"x"}}},
		{name: "error", in: "-ERR unknown command\r\n", wantErr: "redis: ERR unknown command"},
		{name: "no crlf", in: "+PONG\n", wantErr: "malformed reply"},
		{name: "bad type", in: "!x\r\n", wantErr: "unknown reply type"},
		{name: "bad bulk length", in: "$x\r\n", wantErr: "malformed bulk length"},
		{name: "short bulk", in: "$10\r\nabc\r\n", wantErr: "EOF"},
		{name: "truncated", in: "", wantErr: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readReply(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readReply(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("readReply(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestReadReplyErrorClass(t *testing.T) {
	_, err := readReply(bufio.NewReader(strings.NewReader("-WRONGTYPE x\r\n")))
	if !errors.Is(err, errRedis) {
		t.Fatalf("error %v does not wrap errRedis", err)
	}
}
