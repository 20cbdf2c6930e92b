package offsets

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWatermarkIsContiguous(t *testing.T) {
	tests := []struct {
		name  string
		begin []int64
		done  []int64
		want  int64
	}{
		{"nothing begun", nil, nil, 10},
		{"all pending", []int64{10, 11, 12}, nil, 10},
		{"out of order leaves a gap", []int64{10, 11, 12}, []int64{11, 12}, 10},
		{"gap filled", []int64{10, 11, 12}, []int64{12, 11, 10}, 13},
		{"offset gaps from compaction", []int64{10, 15, 20}, []int64{10, 15}, 20},
		{"unknown offset ignored", []int64{10, 11}, []int64{99, 10}, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(10, 100)
			for _, o := range tt.begin {
				if err := tr.Begin(context.Background(), o, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range tt.done {
				tr.Done(o)
			}
			if got := tr.Watermark(); got != tt.want {
				t.Fatalf("Watermark() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBeginWaitsAtTheBound(t *testing.T) {
	tr := New(0, 2)
	ctx := context.Background()
	for o := int64(0); o < 2; o++ {
		if err := tr.Begin(ctx, o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := tr.Begin(short, 2, time.Now()); err == nil {
		t.Fatal("Begin past the bound returned without waiting")
	}
	began := make(chan error)
	go func() { began <- tr.Begin(ctx, 2, time.Now()) }()
	tr.Done(1) // not the head: no room yet
	full, cancelFull := context.WithCancel(ctx)
	cancelFull()
	if err := tr.Begin(full, 3, time.Now()); err == nil {
		t.Fatal("Begin found room while the bound was still full (an offset done above the head frees nothing)")
	}
	select {
	case <-began:
		t.Fatal("Begin returned while the bound was still full")
	default:
	}
	tr.Done(0)
	if err := <-began; err != nil {
		t.Fatal(err)
	}
	if got := tr.Pending(); got != 1 {
		t.Fatalf("Pending() = %d, want 1", got)
	}
}

func TestWaitIdle(t *testing.T) {
	tr := New(0, 10)
	_ = tr.Begin(context.Background(), 0, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.WaitIdle(ctx); err == nil {
		t.Fatal("WaitIdle returned nil with work pending")
	}
	idle := make(chan error)
	go func() { idle <- tr.WaitIdle(context.Background()) }()
	tr.Done(0)
	if err := <-idle; err != nil {
		t.Fatal(err)
	}
}

func BenchmarkBeginDone(b *testing.B) {
	tr := New(0, 1<<20)
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = tr.Begin(ctx, int64(i), now)
		tr.Done(int64(i))
	}
}

func TestWaitWatermarkIgnoresOffsetsAtOrAbove(t *testing.T) {
	tr := New(0, 10)
	for o := int64(0); o < 3; o++ {
		_ = tr.Begin(context.Background(), o, time.Now())
	}
	tr.Done(0)
	tr.Done(1)
	if err := tr.WaitWatermark(context.Background(), 2); err != nil {
		t.Fatalf("offsets below 2 are done, yet WaitWatermark(2) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.WaitWatermark(ctx, 3); err == nil {
		t.Fatal("offset 2 is pending, yet WaitWatermark(3) returned nil")
	}
}

// TestCompactionKeepsUnfinishedOffsets: past 1,024 finished entries the tracker drops its
// done prefix; the offsets still pending must survive it, and so must their order.
func TestCompactionKeepsUnfinishedOffsets(t *testing.T) {
	const n = 3000
	tr := New(0, n)
	for o := int64(0); o < n; o++ {
		if err := tr.Begin(context.Background(), o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	pending := map[int64]bool{2500: true, 2501: true, 2900: true}
	for o := int64(n - 1); o >= 0; o-- { // out of order: the head finishes last
		if !pending[o] {
			tr.Done(o)
		}
	}
	if got := tr.Watermark(); got != 2500 {
		t.Fatalf("Watermark() = %d after compaction, want 2500 (the oldest unfinished offset)", got)
	}
	if got := tr.Pending(); got != n-2500 { // begun and not yet below the watermark
		t.Fatalf("Pending() = %d, want %d", got, n-2500)
	}
	tr.Done(2500)
	tr.Done(2501)
	if got := tr.Watermark(); got != 2900 {
		t.Fatalf("Watermark() = %d, want 2900", got)
	}
	tr.Done(2900)
	if got := tr.Watermark(); got != n {
		t.Fatalf("Watermark() = %d, want %d", got, n)
	}
}
