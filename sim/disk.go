package sim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
)

// A Disk is a node's simulated disk: a flat namespace of files. Each file has
// two views: what reads see (stable storage plus the OS page cache) and what
// stable storage holds. Writes go to the page cache; Sync makes a file's
// content durable. A process crash keeps the page cache; a power loss drops
// every unsynced byte (or, torn, keeps a random prefix of them).
//
// Creating, removing and renaming files are durable at once (as if every
// directory operation were followed by a directory fsync). Shrinking a
// file is a metadata change that a journaling file system (ext4's default
// ordered mode) commits with the next fsync of any file on the disk: until
// then a power loss undoes it, and the cut bytes come back as they were
// last synced.
type Disk struct {
	node  *Node
	files map[string]*File
	fault error
	gone  bool // replaced by LoseDisk
	// truncated are the files shrunk since the last journal commit.
	truncated []*File
	// stats
	syncs, writes uint64
}

func newDisk(n *Node) *Disk { return &Disk{node: n, files: make(map[string]*File)} }

// ErrDiskGone is returned by operations on a disk that has been replaced.
var ErrDiskGone = errors.New("disk has been replaced")

// A File is one file on a simulated disk.
type File struct {
	disk    *Disk
	name    string
	data    []byte // what reads see
	durable []byte // what survives a power loss
	dirty   int    // lowest offset where data may differ from durable; -1 when clean
	truncTo int    // the smallest size the file was cut to since the last journal commit; -1 when none
	episode uint64 // bumped whenever the file turns dirty (for writeback)
	removed bool
}

// SetFault makes every later operation on the disk fail with err (a failed
// log directory, as Kafka's KAFKA_STORAGE_ERROR reports); nil clears it.
func (d *Disk) SetFault(err error) { d.fault = err }

func (d *Disk) check(op, name string) error {
	if d.gone {
		return &fs.PathError{Op: op, Path: name, Err: ErrDiskGone}
	}
	if d.fault != nil {
		return &fs.PathError{Op: op, Path: name, Err: d.fault}
	}
	return nil
}

// Create creates the named file, or truncates it to empty if it exists.
func (d *Disk) Create(name string) (*File, error) {
	if err := d.check("create", name); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := d.files[name]; ok {
		if err := f.Truncate(0); err != nil {
			return nil, err
		}
		return f, nil
	}
	f := &File{disk: d, name: name, dirty: -1, truncTo: -1}
	d.files[name] = f
	return f, nil
}

// Open opens an existing file; a missing one gives an error wrapping
// fs.ErrNotExist.
func (d *Disk) Open(name string) (*File, error) {
	if err := d.check("open", name); err != nil {
		return nil, err
	}
	f, ok := d.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

// Exists reports whether the named file exists.
func (d *Disk) Exists(name string) bool {
	_, ok := d.files[name]
	return ok && !d.gone
}

// Remove deletes the named file.
func (d *Disk) Remove(name string) error {
	if err := d.check("remove", name); err != nil {
		return err
	}
	f, ok := d.files[name]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	f.removed = true
	delete(d.files, name)
	return nil
}

// Rename renames a file, replacing any file at the new name.
func (d *Disk) Rename(oldName, newName string) error {
	if err := d.check("rename", oldName); err != nil {
		return err
	}
	f, ok := d.files[oldName]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldName, Err: fs.ErrNotExist}
	}
	if newName == "" {
		return &fs.PathError{Op: "rename", Path: newName, Err: fs.ErrInvalid}
	}
	if old, ok := d.files[newName]; ok && old != f {
		old.removed = true
	}
	delete(d.files, oldName)
	f.name = newName
	d.files[newName] = f
	return nil
}

// List returns the names of the files whose names start with prefix, sorted.
func (d *Disk) List(prefix string) []string {
	var names []string
	for name := range d.files {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Corrupt flips every bit of n bytes of the named file from offset off, in
// both the page cache and stable storage, as silent media corruption would.
func (d *Disk) Corrupt(name string, off, n int) error {
	f, ok := d.files[name]
	if !ok {
		return fmt.Errorf("corrupt %s: %w", name, fs.ErrNotExist)
	}
	if off < 0 || n <= 0 || off+n > len(f.data) {
		return fmt.Errorf("corrupt %s: range [%d, %d) is outside the file's %d bytes: give 0 <= offset and 0 < length with offset+length <= size", name, off, off+n, len(f.data))
	}
	for i := off; i < off+n; i++ {
		f.data[i] ^= 0xff
		if i < len(f.durable) {
			f.durable[i] ^= 0xff
		}
	}
	d.node.s.trace.Emitf(d.node, "disk.corrupt", Digest(uint64(off), uint64(n)), "%s [%d,%d)", name, off, off+n)
	return nil
}

// Unsynced returns the number of bytes on the disk that a power loss would
// lose now (an upper bound: bytes rewritten with equal content count too).
func (d *Disk) Unsynced() int {
	total := 0
	for _, f := range d.files {
		if f.dirty >= 0 {
			total += max(len(f.data)-f.dirty, 0)
			if len(f.durable) > len(f.data) {
				total += len(f.durable) - len(f.data)
			}
		}
	}
	return total
}

// Stats returns the number of writes and syncs the disk has served.
func (d *Disk) Stats() (writes, syncs uint64) { return d.writes, d.syncs }

func (d *Disk) detach() {
	d.gone = true
	for _, f := range d.files {
		f.removed = true
	}
}

// powerLoss rolls every file back to stable storage, keeping a random prefix
// of the unsynced bytes when tear is set.
func (d *Disk) powerLoss(r *rand.Rand, tear bool) {
	for _, f := range d.truncated {
		f.truncTo = -1 // the journal never committed these cuts
	}
	clear(d.truncated)
	d.truncated = d.truncated[:0]
	for _, name := range d.List("") {
		f := d.files[name]
		if f.dirty < 0 {
			continue
		}
		kept := 0
		if tear && len(f.data) > f.dirty {
			kept = r.IntN(len(f.data) - f.dirty + 1)
		}
		restored := slices.Clone(f.durable)
		if kept > 0 {
			end := f.dirty + kept
			if end > len(restored) {
				restored = append(restored, make([]byte, end-len(restored))...)
			}
			copy(restored[f.dirty:end], f.data[f.dirty:end])
		}
		f.data = restored
		f.durable = slices.Clone(restored)
		f.dirty = -1
	}
}

// Name returns the file's current name.
func (f *File) Name() string { return f.name }

// Size returns the file's size as reads see it.
func (f *File) Size() int { return len(f.data) }

// DurableSize returns the size of the file's synced content.
func (f *File) DurableSize() int { return len(f.durable) }

func (f *File) check(op string) error {
	if err := f.disk.check(op, f.name); err != nil {
		return err
	}
	if f.removed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	return nil
}

func (f *File) markDirty(off int) {
	if f.dirty < 0 {
		f.dirty = off
		f.episode++
		if wb := f.disk.node.s.cfg.Writeback; wb > 0 {
			ep := f.episode
			f.disk.node.s.After(wb, "disk.writeback", func() {
				if !f.removed && f.episode == ep && f.dirty >= 0 {
					f.sync()
				}
			})
		}
		return
	}
	f.dirty = min(f.dirty, off)
}

// WriteAt writes p at offset off, growing the file (with zeros) as needed.
func (f *File) WriteAt(p []byte, off int) error {
	if err := f.check("write"); err != nil {
		return err
	}
	if off < 0 {
		return &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrInvalid}
	}
	old := len(f.data)
	if end := off + len(p); end > old {
		f.data = grow(f.data, end)
		clear(f.data[old:end])
	}
	copy(f.data[off:], p)
	f.markDirty(min(off, old))
	f.disk.writes++
	return nil
}

// Append writes p at the end of the file.
func (f *File) Append(p []byte) error { return f.WriteAt(p, len(f.data)) }

// Truncate changes the file's size; growing fills with zeros.
func (f *File) Truncate(size int) error {
	if err := f.check("truncate"); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	if size == len(f.data) {
		return nil
	}
	old := len(f.data)
	if size < old {
		f.data = f.data[:size]
		if f.truncTo < 0 {
			f.disk.truncated = append(f.disk.truncated, f)
			f.truncTo = size
		}
		f.truncTo = min(f.truncTo, size)
	} else {
		f.data = append(f.data, make([]byte, size-old)...)
	}
	f.markDirty(min(size, old))
	f.disk.writes++
	return nil
}

// ReadAt reads len(p) bytes at offset off, as io.ReaderAt does.
func (f *File) ReadAt(p []byte, off int) (int, error) {
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Bytes returns the file's content as reads see it. The slice is the file's
// own: callers must not modify it, and it is valid only until the next write.
func (f *File) Bytes() ([]byte, error) {
	if err := f.check("read"); err != nil {
		return nil, err
	}
	return f.data, nil
}

// Sync makes the file's content durable (fsync).
func (f *File) Sync() error {
	if err := f.check("sync"); err != nil {
		return err
	}
	f.disk.commit()
	if f.dirty >= 0 {
		f.sync()
	}
	return nil
}

// commit makes the size reductions of every file on the disk durable, as a
// journal commit does.
func (d *Disk) commit() {
	for _, f := range d.truncated {
		if !f.removed && len(f.durable) > f.truncTo {
			f.durable = f.durable[:f.truncTo]
		}
		f.truncTo = -1
	}
	clear(d.truncated)
	d.truncated = d.truncated[:0]
}

// grow returns b resized to n bytes, keeping its content. Capacity at least
// doubles when it must grow, so appending to a file copies each byte about
// once on average (append's own growth, 1.25x for large slices, copies a
// growing log several times over).
func grow(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(b), 4096))
	copy(nb, b)
	return nb
}

func (f *File) sync() {
	f.disk.commit()
	from := min(f.dirty, len(f.durable), len(f.data))
	f.durable = grow(f.durable[:from], len(f.data))
	copy(f.durable[from:], f.data[from:])
	f.dirty = -1
	f.disk.syncs++
}
