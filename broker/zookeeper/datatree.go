package zookeeper

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/sim"
)

// DataTree is a server's in-memory database, as ZooKeeper's DataTree: the
// znodes with their data and stats, the ephemeral znodes of each session,
// the sessions with their timeouts, and the zxid of the last transaction
// applied. It also keeps a digest of its content (the sum of a hash of
// every znode and session, updated incrementally, after ZooKeeper 3.6's
// digest feature) and a chain hash of the history of transactions it has
// applied, which the invariants compare across servers.
type DataTree struct {
	nodes      map[string]*znode
	ephemerals map[int64]map[string]struct{}
	sessions   map[int64]int32 // session id → timeout in milliseconds

	lastProcessed Zxid   // ZooKeeper's lastProcessedZxid
	lastTxn       Zxid   // the zxid of the last transaction applied
	chain         uint64 // hash of the applied history, up to lastTxn
	digest        uint64
}

type znode struct {
	data     []byte
	stat     Stat // DataLength and NumChildren are filled on read
	children map[string]struct{}
	hash     uint64
}

// The nodes every tree has, as ZooKeeper creates them.
const (
	rootPath      = "/"
	zookeeperPath = "/zookeeper"
	quotaPath     = "/zookeeper/quota"
)

func newDataTree() *DataTree {
	t := &DataTree{
		nodes:      make(map[string]*znode),
		ephemerals: make(map[int64]map[string]struct{}),
		sessions:   make(map[int64]int32),
	}
	for _, p := range []string{rootPath, zookeeperPath, quotaPath} {
		n := &znode{children: make(map[string]struct{})}
		if p != rootPath {
			t.nodes[parentOf(p)].children[p[strings.LastIndexByte(p, '/')+1:]] = struct{}{}
		}
		t.nodes[p] = n
	}
	for p, n := range t.nodes {
		t.rehash(p, n)
	}
	return t
}

// LastProcessedZxid returns the zxid of the last transaction applied (or,
// on an established leader, the first zxid of its epoch).
func (t *DataTree) LastProcessedZxid() Zxid { return t.lastProcessed }

// LastTxn returns the zxid of the last transaction applied and the chain
// hash of the history up to it.
func (t *DataTree) LastTxn() (Zxid, uint64) { return t.lastTxn, t.chain }

// Digest returns the digest of the tree's znodes and sessions.
func (t *DataTree) Digest() uint64 { return t.digest }

// Len returns the number of znodes, system znodes included.
func (t *DataTree) Len() int { return len(t.nodes) }

// Get returns a znode's data and stat.
func (t *DataTree) Get(path string) ([]byte, Stat, bool) {
	n, ok := t.nodes[path]
	if !ok {
		return nil, Stat{}, false
	}
	return n.data, n.fullStat(), true
}

// Children returns a znode's children, sorted, and its stat.
func (t *DataTree) Children(path string) ([]string, Stat, bool) {
	n, ok := t.nodes[path]
	if !ok {
		return nil, Stat{}, false
	}
	return slices.Sorted(maps.Keys(n.children)), n.fullStat(), true
}

// Paths returns every znode's path, sorted.
func (t *DataTree) Paths() []string { return slices.Sorted(maps.Keys(t.nodes)) }

// Sessions returns the sessions the tree knows, with their timeouts.
func (t *DataTree) Sessions() map[int64]int32 { return maps.Clone(t.sessions) }

// Ephemerals returns the paths of the ephemeral znodes of every session
// that owns some, sorted.
func (t *DataTree) Ephemerals() map[int64][]string {
	out := make(map[int64][]string, len(t.ephemerals))
	for s, paths := range t.ephemerals {
		if len(paths) > 0 {
			out[s] = slices.Sorted(maps.Keys(paths))
		}
	}
	return out
}

func (n *znode) fullStat() Stat {
	st := n.stat
	st.DataLength = int32(len(n.data))
	st.NumChildren = int32(len(n.children))
	return st
}

func parentOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return rootPath
	}
	return path[:i]
}

// validatePath checks a path as ZooKeeper's PathUtils does; a sequential
// create may end in '/' since the server appends the sequence number.
func validatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	switch {
	case path == "":
		return fmt.Errorf("path must not be empty")
	case path[0] != '/':
		return fmt.Errorf("path %q must start with /", path)
	case path == "/":
		return nil
	case path[len(path)-1] == '/':
		return fmt.Errorf("path %q must not end with /", path)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		switch {
		case seg == "":
			return fmt.Errorf("path %q has an empty node name", path)
		case seg == "." || seg == "..":
			return fmt.Errorf("path %q has a relative segment %q", path, seg)
		case strings.ContainsRune(seg, 0):
			return fmt.Errorf("path %q has a null character", path)
		}
	}
	return nil
}

func nodeHash(path string, n *znode) uint64 {
	st := &n.stat
	h := hashString(fnvBasis, path)
	h = mixWord(h, hashBytes(fnvBasis, n.data))
	return sim.Digest(h, uint64(st.Czxid), uint64(st.Mzxid), uint64(st.Pzxid), uint64(st.Version),
		uint64(st.Cversion), uint64(st.EphemeralOwner), uint64(st.Ctime), uint64(st.Mtime))
}

func sessionHash(id int64, timeout int32) uint64 {
	return sim.Digest(0x5e55, uint64(id), uint64(timeout))
}

// rehash refreshes a node's contribution to the digest after a change.
func (t *DataTree) rehash(path string, n *znode) {
	t.digest -= n.hash
	n.hash = nodeHash(path, n)
	t.digest += n.hash
}

// watchTrigger is a watch the application of a transaction fires.
type watchTrigger struct {
	path  string
	typ   EventType
	child bool // fire child watches (else data watches)
	both  bool // NodeDeleted: data and child watches, each watcher told once
}

// txnResult is what applying a transaction gives its client.
type txnResult struct {
	err     Code
	path    string
	stat    Stat
	results []OpResult
}

// process applies a committed (or replayed) transaction and records the
// watches it fires, as ZooKeeper's DataTree.processTxn: a transaction that
// cannot apply (its znode already created or deleted) reports the error
// and changes nothing, and a multi applies its sub-transactions in order.
func (t *DataTree) process(txn *Txn, w *[]watchTrigger) txnResult {
	var r txnResult
	if txn.Type == OpMulti {
		failed := false
		for _, o := range txn.Ops {
			if o.Type == OpError {
				failed = true
			}
		}
		post := false
		for _, o := range txn.Ops {
			res := OpResult{Type: o.Type}
			switch {
			case o.Type == OpError:
				res.Err, post = o.Err, true
				if r.err == Ok {
					r.err = o.Err
				}
			case failed && post:
				res.Type, res.Err = OpError, RuntimeInconsistency
			case failed:
				res.Type, res.Err = OpError, Ok
			default:
				sub := t.apply(txn, o, w)
				res.Err, res.Path, res.Stat = sub.err, sub.path, sub.stat
				if sub.err != Ok && r.err == Ok {
					r.err = sub.err
				}
			}
			r.results = append(r.results, res)
		}
	} else {
		r = t.apply(txn, txn, w)
	}
	if txn.Zxid > t.lastProcessed {
		t.lastProcessed = txn.Zxid
	}
	t.chain = sim.Digest(t.chain, uint64(txn.Zxid), txn.Digest())
	t.lastTxn = txn.Zxid
	return r
}

// apply applies one (sub-)transaction body; hdr gives the header.
func (t *DataTree) apply(hdr, txn *Txn, w *[]watchTrigger) txnResult {
	r := txnResult{path: txn.Path}
	switch txn.Type {
	case OpCreate:
		owner := int64(0)
		if txn.Ephemeral {
			owner = hdr.Session
		}
		st, err := t.createNode(txn.Path, txn.Data, owner, txn.ParentCVersion, hdr.Zxid, hdr.Time, w)
		r.err, r.stat = err, st
	case OpDelete:
		r.err = t.deleteNode(txn.Path, hdr.Zxid, w)
	case OpSetData:
		r.stat, r.err = t.setData(txn.Path, txn.Data, txn.Version, hdr.Zxid, hdr.Time, w)
	case OpCheck:
	case OpError:
		r.err = txn.Err
	case OpCreateSession:
		t.setSession(hdr.Session, txn.Timeout)
	case OpCloseSession:
		t.killSession(hdr.Session, hdr.Zxid, txn.Paths, w)
	}
	return r
}

func (t *DataTree) setSession(id int64, timeout int32) {
	if old, ok := t.sessions[id]; ok {
		t.digest -= sessionHash(id, old)
	}
	t.sessions[id] = timeout
	t.digest += sessionHash(id, timeout)
}

func (t *DataTree) createNode(path string, data []byte, owner int64, parentCVersion int32, zxid Zxid, time int64, w *[]watchTrigger) (Stat, Code) {
	pp := parentOf(path)
	parent, ok := t.nodes[pp]
	if !ok {
		return Stat{}, NoNode
	}
	if _, exists := t.nodes[path]; exists {
		return Stat{}, NodeExists
	}
	if parentCVersion == -1 {
		parentCVersion = parent.stat.Cversion + 1
	}
	if parentCVersion > parent.stat.Cversion {
		parent.stat.Cversion = parentCVersion
		parent.stat.Pzxid = zxid
	}
	parent.children[path[strings.LastIndexByte(path, '/')+1:]] = struct{}{}
	t.rehash(pp, parent)
	n := &znode{
		data:     data,
		stat:     Stat{Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: time, Mtime: time, EphemeralOwner: owner},
		children: make(map[string]struct{}),
	}
	t.nodes[path] = n
	t.rehash(path, n)
	if owner != 0 {
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[path] = struct{}{}
	}
	*w = append(*w, watchTrigger{path: path, typ: EventNodeCreated}, watchTrigger{path: pp, typ: EventNodeChildrenChanged, child: true})
	return n.fullStat(), Ok
}

func (t *DataTree) deleteNode(path string, zxid Zxid, w *[]watchTrigger) Code {
	pp := parentOf(path)
	parent, ok := t.nodes[pp]
	if !ok {
		return NoNode
	}
	n, ok := t.nodes[path]
	if !ok {
		return NoNode
	}
	delete(parent.children, path[strings.LastIndexByte(path, '/')+1:])
	if zxid > parent.stat.Pzxid {
		parent.stat.Pzxid = zxid
	}
	t.rehash(pp, parent)
	t.digest -= n.hash
	delete(t.nodes, path)
	if owner := n.stat.EphemeralOwner; owner != 0 {
		if set := t.ephemerals[owner]; set != nil {
			delete(set, path)
			if len(set) == 0 {
				delete(t.ephemerals, owner)
			}
		}
	}
	*w = append(*w, watchTrigger{path: path, typ: EventNodeDeleted, both: true}, watchTrigger{path: pp, typ: EventNodeChildrenChanged, child: true})
	return Ok
}

func (t *DataTree) setData(path string, data []byte, version int32, zxid Zxid, time int64, w *[]watchTrigger) (Stat, Code) {
	n, ok := t.nodes[path]
	if !ok {
		return Stat{}, NoNode
	}
	n.data = data
	n.stat.Version = version
	n.stat.Mzxid = zxid
	n.stat.Mtime = time
	t.rehash(path, n)
	*w = append(*w, watchTrigger{path: path, typ: EventNodeDataChanged})
	return n.fullStat(), Ok
}

// killSession deletes a session's ephemeral znodes (those the transaction
// names and any other the tree holds for it) and forgets the session.
func (t *DataTree) killSession(session int64, zxid Zxid, paths []string, w *[]watchTrigger) {
	all := slices.Clone(paths)
	for p := range t.ephemerals[session] {
		if !slices.Contains(all, p) {
			all = append(all, p)
		}
	}
	slices.Sort(all)
	for _, p := range all {
		if n, ok := t.nodes[p]; ok && n.stat.EphemeralOwner == session {
			t.deleteNode(p, zxid, w)
		}
	}
	delete(t.ephemerals, session)
	if old, ok := t.sessions[session]; ok {
		t.digest -= sessionHash(session, old)
		delete(t.sessions, session)
	}
}

// clone returns a deep copy of the tree (for a SNAP and for snapshots).
func (t *DataTree) clone() *DataTree {
	c := &DataTree{
		nodes:         make(map[string]*znode, len(t.nodes)),
		ephemerals:    make(map[int64]map[string]struct{}, len(t.ephemerals)),
		sessions:      maps.Clone(t.sessions),
		lastProcessed: t.lastProcessed, lastTxn: t.lastTxn, chain: t.chain, digest: t.digest,
	}
	for p, n := range t.nodes {
		c.nodes[p] = &znode{data: n.data, stat: n.stat, children: maps.Clone(n.children), hash: n.hash}
	}
	for s, set := range t.ephemerals {
		c.ephemerals[s] = maps.Clone(set)
	}
	return c
}
