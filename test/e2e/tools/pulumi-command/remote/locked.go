package remote

import (
	"io"
	"sync"
)

// lockedWriters makes writers that share one mutex, so two streams can feed the same buffers.
type lockedWriters struct{ mu sync.Mutex }

type lockedWriter struct {
	shared *lockedWriters
	w      io.Writer
}

func (l *lockedWriters) wrap(w io.Writer) io.Writer { return &lockedWriter{shared: l, w: w} }

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.shared.mu.Lock()
	defer l.shared.mu.Unlock()
	return l.w.Write(b)
}
