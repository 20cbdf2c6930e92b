package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
	}{
		{args: nil},
		{args: []string{"-error-rate", "0.5", "-bad-tokens", "a,b", "-outage-for", "1m", "-latency-min", "5ms", "-latency-max", "10ms"}},
		{args: []string{"-error-rate", "2"}, wantErr: true},
		{args: []string{"-error-status", "404", "-error-rate", "1"}, wantErr: true},
		{args: []string{"-latency-min", "2s", "-latency-max", "1s"}, wantErr: true},
		{args: []string{"-nope"}, wantErr: true},
		{args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, io.Discard)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v, want error %v", tt.args, err, tt.wantErr)
		}
		if err == nil && len(tt.args) > 0 {
			if len(o.faults.BadTokens) != 2 || o.faults.ErrorRate != 0.5 || time.Until(o.faults.OutageUntil) < 50*time.Second {
				t.Errorf("faults %+v", o.faults)
			}
		}
	}
	if code := runWith(t.Context(), []string{"-error-rate", "2"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("bad flags: exit %d", code)
	}
}

// lines hands over what the command prints, line by line.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		l <- sc.Text()
	}
	return len(p), nil
}

func TestServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := make(lines, 4)
	exit := make(chan int, 1)
	go func() { exit <- runWith(ctx, []string{"-listen", "127.0.0.1:0", "-record"}, out, io.Discard) }()

	var base string
	select {
	case line := <-out:
		_, base, _ = strings.Cut(line, "listening on ")
	case code := <-exit:
		t.Fatalf("exited %d before listening", code)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	body := `{"context":{"channel":"web"},"id":{"tntId":"abc.21_0"},"notifications":[{"id":"n1","type":"display","timestamp":1700000000000,"tokens":["t"],"mbox":{"name":"m"}}]}`
	resp, err := client.Post(base+"/c/acme/rest/v1/delivery?sessionId=s1", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"notifications":[{"id":"n1"}]`) {
		t.Fatalf("delivery: %d %s", resp.StatusCode, b)
	}

	resp, err = client.Get(base + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Accepted, Unique int }
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.Accepted != 1 || st.Unique != 1 {
		t.Errorf("stats %+v, %v", st, err)
	}

	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("exit %d after shutdown", code)
	}
}
