package zookeeper

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/sim"
)

// DefaultDir is the data directory's version subdirectory, where ZooKeeper
// keeps its snapshots, transaction logs and epoch files.
const DefaultDir = "version-2"

// The files of a data directory, as ZooKeeper names them.
const (
	acceptedEpochFile = "acceptedEpoch"
	currentEpochFile  = "currentEpoch"
	logPrefix         = "log."
	snapPrefix        = "snapshot."
)

// On-disk formats, after ZooKeeper's: a transaction log file starts with a
// header (magic "ZKLG", version 2, dbid) and holds records of
// checksum (8 bytes) | length (4) | transaction | 'B'; a snapshot holds a
// header (magic "ZKSN", version 2, dbid), the sessions and the znodes, then
// a checksum and the "/" end marker that tells a complete snapshot.
const (
	logMagic       = "ZKLG"
	snapMagic      = "ZKSN"
	formatVersion  = 2
	fileHeaderSize = 16
	recordOverhead = 13 // checksum, length and end-of-record byte
	endOfRecord    = 'B'
	snapEndMarker  = '/'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBroken is a database that cannot be loaded (ZooKeeper refuses to
// start with it).
var errBroken = errors.New("unable to load database on disk")

// histEntry is one transaction of a server's current history: the
// transactions after the snapshot it loaded (or received), in zxid order,
// logged or (during a SNAP or TRUNC synchronisation) applied without being
// logged.
type histEntry struct {
	zxid   Zxid
	prev   Zxid // the transaction before it in the history
	digest uint64
	chain  uint64 // hash of the history up to and including it
	file   string // the log file holding it; "" if not logged
	off    int
	size   int
}

// database is ZooKeeper's ZKDatabase over FileTxnSnapLog: the data tree,
// the transaction log and the snapshots on the node's disk, and the
// in-memory commit log of recent transactions used to synchronise
// followers.
type database struct {
	disk *sim.Disk
	dir  string
	tree *DataTree

	committed  []*Txn // committedLog: recent transactions applied, oldest first
	maxCommit  int
	sizeFactor float64

	hist      []histEntry
	histStart int    // absolute index of hist[0]
	histGen   uint64 // bumped whenever the history is rebuilt rather than extended
	lastZxid  Zxid   // last transaction of the history
	lastChain uint64

	logFile  *sim.File
	logName  string
	snapSize int
}

func newDatabase(disk *sim.Disk, dir string, commitLogCount int, sizeFactor float64) *database {
	return &database{disk: disk, dir: dir, maxCommit: commitLogCount, sizeFactor: max(sizeFactor, 0)}
}

func (db *database) path(name string) string { return db.dir + "/" + name }

// zxidName names a log or snapshot file after a zxid, as ZooKeeper does.
func zxidName(prefix string, z Zxid) string { return prefix + strconv.FormatInt(int64(z), 16) }

// filesWith lists the files with the prefix, ordered by the zxid in their
// name.
func (db *database) filesWith(prefix string) []string {
	type f struct {
		name string
		z    int64
	}
	var fs []f
	for _, name := range db.disk.List(db.path(prefix)) {
		z, err := strconv.ParseInt(strings.TrimPrefix(name, db.path(prefix)), 16, 64)
		if err != nil || strings.HasSuffix(name, ".tmp") {
			continue
		}
		fs = append(fs, f{name, z})
	}
	slices.SortFunc(fs, func(a, b f) int { return cmp.Compare(a.z, b.z) })
	out := make([]string, len(fs))
	for i, x := range fs {
		out[i] = x.name
	}
	return out
}

func zxidOfName(name string) Zxid {
	i := strings.LastIndexByte(name, '.')
	z, _ := strconv.ParseInt(name[i+1:], 16, 64)
	return Zxid(z)
}

// loadResult says what loading the database found.
type loadResult struct {
	snapshot       string
	invalidSnaps   int
	tornFiles      int
	replayed       int
	createdInitial bool
}

// load rebuilds the database from the disk, as ZKDatabase.loadDataBase:
// the newest valid snapshot (invalid ones, such as a snapshot whose
// unsynced content a power loss took, are skipped), then every logged
// transaction after it, in zxid order. A log file whose tail is torn is
// read up to the tear. With no snapshot at all, an empty database is
// created and its snapshot written, unless some log holds transactions
// (ZooKeeper then refuses to start).
func (db *database) load() (loadResult, error) {
	var res loadResult
	db.tree, db.committed, db.logFile, db.logName = nil, nil, nil, ""
	db.hist, db.histStart = nil, 0
	db.histGen++
	snaps := db.filesWith(snapPrefix)
	for i := len(snaps) - 1; i >= 0; i-- {
		f, err := db.disk.Open(snaps[i])
		if err != nil {
			return res, err
		}
		p, err := f.Bytes()
		if err != nil {
			return res, err
		}
		t, err := decodeSnapshot(p)
		if err != nil {
			res.invalidSnaps++
			continue
		}
		db.tree, res.snapshot, db.snapSize = t, snaps[i], len(p)
		break
	}
	logs := db.filesWith(logPrefix)
	if db.tree == nil {
		for _, name := range logs {
			recs, _, err := db.readLog(name)
			if err != nil {
				return res, err
			}
			if len(recs) > 0 {
				return res, fmt.Errorf("%w: no snapshot found, but there are log entries (%s): something is broken", errBroken, name)
			}
		}
		db.tree = newDataTree()
		if err := db.snapshot(true); err != nil {
			return res, err
		}
		res.createdInitial = true
	}
	db.lastZxid, db.lastChain = db.tree.lastTxn, db.tree.chain
	var none []watchTrigger
	for _, name := range logs {
		recs, torn, err := db.readLog(name)
		if err != nil {
			return res, err
		}
		if torn {
			res.tornFiles++
		}
		for _, r := range recs {
			if r.txn.Zxid <= db.tree.lastProcessed || r.txn.Zxid <= db.lastZxid {
				continue
			}
			db.tree.process(r.txn, &none)
			none = none[:0]
			db.pushHist(r.txn, name, r.off, r.size)
			db.addCommitted(r.txn)
			res.replayed++
		}
	}
	return res, nil
}

type logRecord struct {
	txn       *Txn
	off, size int
}

// readLog reads a log file's records. Reading stops at a zero length or at
// a partial record (torn reports it), as ZooKeeper's FileTxnIterator treats
// them as the end of the file; a checksum that does not match is an error,
// as it is for ZooKeeper ("CRC check failed").
func (db *database) readLog(name string) ([]logRecord, bool, error) {
	f, err := db.disk.Open(name)
	if err != nil {
		return nil, false, err
	}
	p, err := f.Bytes()
	if err != nil {
		return nil, false, err
	}
	if len(p) < fileHeaderSize || string(p[:4]) != logMagic {
		return nil, true, nil
	}
	var out []logRecord
	off := fileHeaderSize
	for off < len(p) {
		rest := p[off:]
		if len(rest) < 12 {
			return out, true, nil
		}
		sum := binary.BigEndian.Uint64(rest)
		n := int(int32(binary.BigEndian.Uint32(rest[8:])))
		if n == 0 {
			return out, false, nil
		}
		if n < 0 || 12+n+1 > len(rest) {
			return out, true, nil
		}
		body := rest[12 : 12+n]
		if rest[12+n] != endOfRecord {
			return out, true, nil
		}
		if uint64(crc32.Checksum(body, castagnoli)) != sum {
			return nil, false, fmt.Errorf("%w: %s: CRC check failed at offset %d", errBroken, name, off)
		}
		t, err := decodeTxn(body)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s at offset %d: %v", errBroken, name, off, err)
		}
		out = append(out, logRecord{t, off, 12 + n + 1})
		off += 12 + n + 1
	}
	return out, false, nil
}

// pushHist extends the history with a transaction.
func (db *database) pushHist(t *Txn, file string, off, size int) {
	chain := sim.Digest(db.lastChain, uint64(t.Zxid), t.Digest())
	db.hist = append(db.hist, histEntry{zxid: t.Zxid, prev: db.lastZxid, digest: t.Digest(), chain: chain, file: file, off: off, size: size})
	db.lastZxid, db.lastChain = t.Zxid, chain
}

// addCommitted adds an applied transaction to the commit log.
func (db *database) addCommitted(t *Txn) {
	db.committed = append(db.committed, t)
	if len(db.committed) > 2*db.maxCommit {
		n := copy(db.committed, db.committed[len(db.committed)-db.maxCommit:])
		clear(db.committed[n:])
		db.committed = db.committed[:n]
	}
}

// commitLog returns the commit log's transactions, oldest first.
func (db *database) commitLog() []*Txn {
	if len(db.committed) > db.maxCommit {
		return db.committed[len(db.committed)-db.maxCommit:]
	}
	return db.committed
}

// append writes a transaction to the log, in the page cache; a new log
// file, named after its first zxid, is started after a roll or a restart.
func (db *database) append(t *Txn) error {
	if db.logFile == nil {
		name := db.path(zxidName(logPrefix, t.Zxid))
		f, err := db.disk.Create(name)
		if err != nil {
			return err
		}
		hdr := make([]byte, 0, fileHeaderSize)
		hdr = append(hdr, logMagic...)
		hdr = binary.BigEndian.AppendUint32(hdr, formatVersion)
		hdr = binary.BigEndian.AppendUint64(hdr, 0)
		if err := f.Append(hdr); err != nil {
			return err
		}
		db.logFile, db.logName = f, name
	}
	enc := t.enc
	if enc == nil {
		t.finish()
		enc = t.enc
	}
	rec := make([]byte, 0, len(enc)+recordOverhead)
	rec = binary.BigEndian.AppendUint64(rec, uint64(crc32.Checksum(enc, castagnoli)))
	rec = binary.BigEndian.AppendUint32(rec, uint32(len(enc)))
	rec = append(rec, enc...)
	rec = append(rec, endOfRecord)
	off := db.logFile.Size()
	if err := db.logFile.Append(rec); err != nil {
		return err
	}
	db.pushHist(t, db.logName, off, len(rec))
	return nil
}

// sync fsyncs the current log file (ZKDatabase.commit).
func (db *database) sync() error {
	if db.logFile == nil {
		return nil
	}
	return db.logFile.Sync()
}

// rollLog makes the next append start a new log file.
func (db *database) rollLog() { db.logFile, db.logName = nil, "" }

// applyUnlogged adds a transaction applied without being logged (during a
// SNAP or TRUNC synchronisation, before NEWLEADER's snapshot) to the
// history.
func (db *database) applyUnlogged(t *Txn) { db.pushHist(t, "", 0, 0) }

// resetTo replaces the tree with one received in a SNAP.
func (db *database) resetTo(t *DataTree) {
	db.rollLog()
	db.tree = t
	db.committed = nil
	db.hist, db.histStart = nil, 0
	db.histGen++
	db.lastZxid, db.lastChain = t.lastTxn, t.chain
}

// snapshot writes the tree to snapshot.<lastProcessedZxid>. With sync the
// snapshot is written to a temporary file, fsynced and renamed into place
// (ZooKeeper's AtomicFileOutputStream); without, it stays in the page
// cache until the OS writes it back, and a power loss leaves an invalid
// snapshot that loading skips.
func (db *database) snapshot(sync bool) error {
	name := db.path(zxidName(snapPrefix, db.tree.lastProcessed))
	if f, err := db.disk.Open(name); err == nil {
		// A tree at one zxid is the same tree: a valid snapshot of it is
		// kept rather than rewritten (and exposed to a power loss).
		if p, err := f.Bytes(); err == nil && f.DurableSize() == len(p) {
			if _, err := decodeSnapshot(p); err == nil {
				return nil
			}
		}
	}
	p := encodeSnapshot(db.tree)
	target := name
	if sync {
		target = name + ".tmp"
	}
	f, err := db.disk.Create(target)
	if err != nil {
		return err
	}
	if err := f.WriteAt(p, 0); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := db.disk.Rename(target, name); err != nil {
			return err
		}
	}
	db.snapSize = len(p)
	db.trimHist(db.tree.lastProcessed, int(float64(len(p))*db.sizeFactor))
	return nil
}

// trimHist forgets the oldest history entries that a snapshot at z covers
// and that no synchronisation from the log could send any more (they lie
// beyond limit bytes from the end), keeping at least a commit log's worth.
func (db *database) trimHist(z Zxid, limit int) {
	keep := len(db.hist) - db.maxCommit
	size := 0
	cut := len(db.hist)
	for cut > 0 && size+db.hist[cut-1].size <= limit {
		cut--
		size += db.hist[cut].size
	}
	keep = min(keep, cut)
	n := 0
	for n < keep && db.hist[n].zxid <= z {
		n++
	}
	if n > 0 {
		m := copy(db.hist, db.hist[n:])
		db.hist = db.hist[:m]
		db.histStart += n
	}
}

// truncate removes every logged transaction after zxid, as
// FileTxnSnapLog.truncateLog, and reloads. Snapshots newer than zxid are
// removed too: they may hold the transactions being truncated (the dirty
// snapshot of ZOOKEEPER-1549).
func (db *database) truncate(zxid Zxid) (loadResult, error) {
	for _, name := range db.filesWith(snapPrefix) {
		if zxidOfName(name) > zxid {
			if err := db.disk.Remove(name); err != nil {
				return loadResult{}, err
			}
		}
	}
	cut := false
	for _, name := range db.filesWith(logPrefix) {
		if cut || zxidOfName(name) > zxid {
			if err := db.disk.Remove(name); err != nil {
				return loadResult{}, err
			}
			continue
		}
		recs, _, err := db.readLog(name)
		if err != nil {
			return loadResult{}, err
		}
		for _, r := range recs {
			if r.txn.Zxid > zxid {
				f, err := db.disk.Open(name)
				if err != nil {
					return loadResult{}, err
				}
				if err := f.Truncate(r.off); err != nil {
					return loadResult{}, err
				}
				cut = true
				break
			}
		}
	}
	return db.load()
}

// readTxn reads a logged transaction back from its log file.
func (db *database) readTxn(e histEntry) (*Txn, error) {
	f, err := db.disk.Open(e.file)
	if err != nil {
		return nil, err
	}
	p, err := f.Bytes()
	if err != nil {
		return nil, err
	}
	if e.off+e.size > len(p) {
		return nil, fmt.Errorf("%s: record at %d is gone", e.file, e.off)
	}
	return decodeTxn(p[e.off+12 : e.off+e.size-1])
}

// txnLogFrom returns the logged transactions from the one at or before
// peer on, as ZKDatabase.getProposalsFromTxnLog: nothing if the log does
// not reach back to peer, holds a transaction that was never logged, or
// is larger than limit bytes.
func (db *database) txnLogFrom(peer Zxid, limit int) ([]*Txn, error) {
	if len(db.hist) == 0 || db.hist[0].zxid > peer || limit < 0 {
		return nil, nil
	}
	i, _ := slices.BinarySearchFunc(db.hist, peer, func(e histEntry, z Zxid) int { return cmp.Compare(e.zxid, z) })
	i = max(i-1, 0) // the transaction before peer tells where to truncate to
	size := 0
	for _, e := range db.hist[i:] {
		if e.file == "" {
			return nil, nil
		}
		size += e.size
	}
	if size > limit {
		return nil, nil
	}
	out := make([]*Txn, 0, len(db.hist)-i)
	for _, e := range db.hist[i:] {
		t, err := db.readTxn(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// encodeSnapshot serialises a tree: header, last processed zxid, the
// history position (last transaction and chain hash), sessions, znodes in
// path order, checksum and end marker.
func encodeSnapshot(t *DataTree) []byte {
	var e encoder
	e.b = append(e.b, snapMagic...)
	e.i32(formatVersion)
	e.i64(-1)
	e.i64(int64(t.lastProcessed))
	e.i64(int64(t.lastTxn))
	e.u64(t.chain)
	ids := slices.Sorted(maps.Keys(t.sessions))
	e.i32(int32(len(ids)))
	for _, id := range ids {
		e.i64(id)
		e.i32(t.sessions[id])
	}
	paths := t.Paths()
	e.i32(int32(len(paths)))
	for _, p := range paths {
		n := t.nodes[p]
		st := &n.stat
		e.str(p)
		e.bytes(n.data)
		e.i64(int64(st.Czxid))
		e.i64(int64(st.Mzxid))
		e.i64(int64(st.Pzxid))
		e.i64(st.Ctime)
		e.i64(st.Mtime)
		e.i32(st.Version)
		e.i32(st.Cversion)
		e.i32(st.Aversion)
		e.i64(st.EphemeralOwner)
	}
	e.u64(uint64(crc32.Checksum(e.b, castagnoli)))
	e.b = append(e.b, snapEndMarker)
	return e.b
}

// decodeSnapshot reads a snapshot back, rejecting one that is incomplete
// or damaged (ZooKeeper's SnapStream.isValidSnapshot).
func decodeSnapshot(p []byte) (*DataTree, error) {
	if len(p) < fileHeaderSize+9 || string(p[:4]) != snapMagic || p[len(p)-1] != snapEndMarker {
		return nil, errors.New("not a complete snapshot")
	}
	body := p[:len(p)-9]
	if uint64(crc32.Checksum(body, castagnoli)) != binary.BigEndian.Uint64(p[len(p)-9:]) {
		return nil, errors.New("snapshot checksum mismatch")
	}
	d := decoder{b: body[fileHeaderSize:]}
	t := &DataTree{
		nodes:      make(map[string]*znode),
		ephemerals: make(map[int64]map[string]struct{}),
		sessions:   make(map[int64]int32),
	}
	t.lastProcessed = Zxid(d.i64())
	t.lastTxn = Zxid(d.i64())
	t.chain = d.u64()
	for range d.count() {
		id := d.i64()
		t.setSession(id, d.i32())
	}
	for range d.count() {
		path := d.str()
		n := &znode{data: d.bytes(), children: make(map[string]struct{})}
		st := &n.stat
		st.Czxid, st.Mzxid, st.Pzxid = Zxid(d.i64()), Zxid(d.i64()), Zxid(d.i64())
		st.Ctime, st.Mtime = d.i64(), d.i64()
		st.Version, st.Cversion, st.Aversion = d.i32(), d.i32(), d.i32()
		st.EphemeralOwner = d.i64()
		if d.err != nil {
			break
		}
		if path != rootPath {
			parent, ok := t.nodes[parentOf(path)]
			if !ok {
				return nil, fmt.Errorf("snapshot: %s comes before its parent", path)
			}
			parent.children[path[strings.LastIndexByte(path, '/')+1:]] = struct{}{}
		}
		t.nodes[path] = n
		if o := st.EphemeralOwner; o != 0 {
			if t.ephemerals[o] == nil {
				t.ephemerals[o] = make(map[string]struct{})
			}
			t.ephemerals[o][path] = struct{}{}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("snapshot: %w", d.err)
	}
	if _, ok := t.nodes[rootPath]; !ok {
		return nil, errors.New("snapshot without a root")
	}
	for p, n := range t.nodes {
		t.rehash(p, n)
	}
	return t, nil
}

// readEpoch reads an epoch file; a missing file gives found=false.
func readEpoch(d *sim.Disk, dir, name string) (int64, bool, error) {
	f, err := d.Open(dir + "/" + name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	p, err := f.Bytes()
	if err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(p)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s/%s: %q is not an epoch", errBroken, dir, name, p)
	}
	return v, true, nil
}

// writeEpoch replaces an epoch file durably: a temporary file, fsynced and
// renamed into place (ZooKeeper's AtomicFileWritingIdiom).
func writeEpoch(d *sim.Disk, dir, name string, v int64) error {
	tmp := dir + "/" + name + ".tmp"
	f, err := d.Create(tmp)
	if err != nil {
		return err
	}
	if err := f.WriteAt([]byte(strconv.FormatInt(v, 10)+"\n"), 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return d.Rename(tmp, dir+"/"+name)
}

// LogFile is one transaction log file as read back from a disk.
type LogFile struct {
	Name string
	Txns []*Txn
	Torn bool // it ends in a partial record
}

// ReadTxnLogs reads every transaction log file of a data directory, in
// zxid order, as a server would when it loads (for tools and scripts).
func ReadTxnLogs(d *sim.Disk, dir string) ([]LogFile, error) {
	db := newDatabase(d, dir, 1, 0)
	var out []LogFile
	for _, name := range db.filesWith(logPrefix) {
		recs, torn, err := db.readLog(name)
		if err != nil {
			return out, err
		}
		f := LogFile{Name: strings.TrimPrefix(name, dir+"/"), Torn: torn}
		for _, r := range recs {
			f.Txns = append(f.Txns, r.txn)
		}
		out = append(out, f)
	}
	return out, nil
}

// Snapshots lists the snapshot files of a data directory, oldest first,
// and whether each is valid (complete, with a matching checksum).
func Snapshots(d *sim.Disk, dir string) (names []string, valid []bool) {
	db := newDatabase(d, dir, 1, 0)
	for _, name := range db.filesWith(snapPrefix) {
		names = append(names, strings.TrimPrefix(name, dir+"/"))
		ok := false
		if f, err := d.Open(name); err == nil {
			if p, err := f.Bytes(); err == nil {
				_, err := decodeSnapshot(p)
				ok = err == nil
			}
		}
		valid = append(valid, ok)
	}
	return names, valid
}
