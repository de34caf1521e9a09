package signaling

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MaxChunkBytes is the largest file chunk (before base64) per message.
const MaxChunkBytes = 64 << 10

// MaxFileBytes bounds one transferred file.
const MaxFileBytes = 50 << 20

// ChatMessage is one entry of the room's message log: text, a pushed
// link, or a file. Recalled messages stay in the log (marked), because
// the session record must show what was sent; only other participants'
// views drop them.
type ChatMessage struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	From     string    `json:"from"`
	FromRole string    `json:"from_role"`
	To       string    `json:"to,omitempty"` // "" = everyone
	Kind     string    `json:"kind"`         // text, link, file
	Text     string    `json:"text,omitempty"`
	URL      string    `json:"url,omitempty"`
	File     *FileInfo `json:"file,omitempty"`
	Recalled bool      `json:"recalled,omitempty"`
	Recall   string    `json:"recall,omitempty"` // set on the notice that withdraws message Recall
}

// FileOffer starts (or, with the id of an unfinished transfer, resumes)
// a file upload to the room. The server checks the type against the
// direction rules and replies with a file message giving the offset to
// continue from.
type FileOffer struct {
	FileID string `json:"file_id,omitempty"`
	Name   string `json:"name"`
	Mime   string `json:"mime"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	To     string `json:"to,omitempty"`
}

func (f *FileOffer) check() error {
	if f.Name == "" || len(f.Name) > 255 || strings.ContainsAny(f.Name, "/\\\x00") {
		return fmt.Errorf("bad file name")
	}
	if f.Size <= 0 || f.Size > MaxFileBytes {
		return fmt.Errorf("size must be 1..%d bytes", MaxFileBytes)
	}
	if len(f.Mime) > 128 || len(f.FileID) > maxIDLen || len(f.To) > maxIDLen {
		return fmt.Errorf("oversized field")
	}
	if f.SHA256 != "" {
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("sha256 must be 64 hex digits")
		}
	}
	return nil
}

// FileChunk is the next piece of an upload: Offset must equal what the
// server has (so a resumed transfer continues exactly where it stopped).
type FileChunk struct {
	FileID string `json:"file_id"`
	Offset int64  `json:"offset"`
	Data   string `json:"data"` // base64
}

// FileCtl pauses, resumes or cancels a transfer (either end).
type FileCtl struct {
	FileID string `json:"file_id"`
	Action string `json:"action"`
}

// FileInfo is a transfer's state.
type FileInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Mime     string `json:"mime"`
	Size     int64  `json:"size"`
	Received int64  `json:"received"`
	State    string `json:"state"` // uploading, paused, done, cancelled
	SHA256   string `json:"sha256,omitempty"`
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
	URL      string `json:"url,omitempty"` // download (with a room token) once done
}

type fileXfer struct {
	FileInfo
	owner  *participant
	path   string
	f      *os.File
	h      hash.Hash
	expect string
}

// Direction rules: what each side may send. The extension, the declared
// type and the content's sniffed type must all agree.
var (
	agentTypes = map[string][]string{ // ext → accepted sniffed types
		".pdf": {"application/pdf"}, ".jpg": {"image/jpeg"}, ".jpeg": {"image/jpeg"}, ".png": {"image/png"},
		".doc": {"application/msword", "application/octet-stream"}, ".ppt": {"application/vnd.ms-powerpoint", "application/octet-stream"},
		".docx": {"application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		".pptx": {"application/zip", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	}
	customerTypes = map[string][]string{".jpg": {"image/jpeg"}, ".jpeg": {"image/jpeg"}, ".png": {"image/png"}}
)

func allowedTypes(role string) map[string][]string {
	if role == RoleCustomer || role == RoleGuest {
		return customerTypes
	}
	return agentTypes
}

func (r *room) handleChat(p *participant, m *Message, data any) {
	switch req := data.(type) {
	case *ChatReq:
		if req.To != "" && r.parts[req.To] == nil {
			r.replyErr(p, m.ID, CodeNotFound, "no such participant")
			return
		}
		r.postMessage(p, m.ID, ChatMessage{Kind: "text", Text: req.Text, To: req.To})
	case *PushReq:
		if req.To != "" && r.parts[req.To] == nil {
			r.replyErr(p, m.ID, CodeNotFound, "no such participant")
			return
		}
		msg := ChatMessage{Kind: "link", URL: req.URL, Text: req.Title, To: req.To}
		if req.FileID != "" {
			x := r.files[req.FileID]
			if x == nil || x.State != "done" {
				r.replyErr(p, m.ID, CodeNotFound, "no finished file with that id in this room")
				return
			}
			fi := x.FileInfo
			msg.Kind, msg.URL, msg.File = "file", "", &fi
		}
		r.postMessage(p, m.ID, msg)
	case *RecallReq:
		for i := range r.chat {
			c := &r.chat[i]
			if c.ID == req.MessageID && c.From == p.id && !c.Recalled {
				c.Recalled = true
				r.event("message_recalled", p, map[string]any{"message": c.ID})
				r.deliver(p, ChatMessage{ID: newID("MS_"), Time: time.Now().UTC(), From: p.id, FromRole: p.role, Kind: "recall", Recall: c.ID, To: c.To})
				r.send(p, TOK, m.ID, nil)
				return
			}
		}
		r.replyErr(p, m.ID, CodeNotFound, "no message of yours with that id")
	case *FileOffer:
		r.fileOffer(p, m.ID, req)
	case *FileChunk:
		r.fileChunk(p, m.ID, req)
	case *FileCtl:
		r.fileCtl(p, m.ID, req)
	}
}

// postMessage logs and delivers a message; the sender gets it back as
// the reply (with its id, for recall).
func (r *room) postMessage(p *participant, ref string, msg ChatMessage) {
	msg.ID, msg.Time, msg.From, msg.FromRole = newID("MS_"), time.Now().UTC(), p.id, p.role
	r.chat = append(r.chat, msg)
	r.event("message", p, map[string]any{"message": msg.ID, "kind": msg.Kind, "to": msg.To})
	r.deliver(p, msg)
	r.send(p, TOK, ref, msg)
}

func (r *room) deliver(from *participant, msg ChatMessage) {
	for _, q := range r.parts {
		if q == from || (msg.To != "" && q.id != msg.To && !q.hidden) {
			continue
		}
		r.send(q, TChat, "", msg)
	}
}

func (r *room) fileDir() string {
	return filepath.Join(r.s.cfg.Recording.Dir, safeName(r.id), "files")
}

func (r *room) fileOffer(p *participant, ref string, o *FileOffer) {
	if o.FileID != "" { // resume
		x := r.files[o.FileID]
		if x == nil || x.owner.identity != p.identity || x.State == "done" || x.State == "cancelled" {
			r.replyErr(p, ref, CodeNotFound, "no unfinished transfer of yours with that id")
			return
		}
		x.owner, x.State = p, "uploading"
		r.send(p, TFile, ref, x.FileInfo)
		return
	}
	ext := strings.ToLower(filepath.Ext(o.Name))
	if _, ok := allowedTypes(p.role)[ext]; !ok {
		r.replyErr(p, ref, CodeForbidden, fmt.Sprintf("a %s may not send %s files (allowed: %s)", p.role, ext, strings.Join(keys(allowedTypes(p.role)), " ")))
		return
	}
	if o.To != "" && r.parts[o.To] == nil {
		r.replyErr(p, ref, CodeNotFound, "no such participant")
		return
	}
	if r.s.cfg.Recording.Dir == "" {
		r.replyErr(p, ref, CodeState, "file transfer needs a spool directory (recording.dir)")
		return
	}
	id := newID("FI_")
	x := &fileXfer{FileInfo: FileInfo{ID: id, Name: o.Name, Mime: o.Mime, Size: o.Size, State: "uploading", From: p.id, To: o.To},
		owner: p, h: sha256.New(), expect: strings.ToLower(o.SHA256)}
	x.path = filepath.Join(r.fileDir(), id+ext)
	if err := os.MkdirAll(r.fileDir(), 0o755); err != nil {
		r.replyErr(p, ref, CodeInternal, err.Error())
		return
	}
	f, err := os.Create(x.path + ".part")
	if err != nil {
		r.replyErr(p, ref, CodeInternal, err.Error())
		return
	}
	x.f = f
	r.files[id] = x
	r.event("file_offered", p, map[string]any{"file": id, "name": o.Name, "size": o.Size})
	r.send(p, TFile, ref, x.FileInfo)
}

func (r *room) fileChunk(p *participant, ref string, c *FileChunk) {
	x := r.files[c.FileID]
	if x == nil || x.owner != p {
		r.replyErr(p, ref, CodeNotFound, "no transfer of yours with that id")
		return
	}
	if x.State != "uploading" {
		r.replyErr(p, ref, CodeState, "transfer is "+x.State)
		return
	}
	if c.Offset != x.Received {
		r.replyErr(p, ref, CodeInvalid, fmt.Sprintf("offset %d, expected %d", c.Offset, x.Received))
		return
	}
	b, err := base64.StdEncoding.DecodeString(c.Data)
	if err != nil || len(b) == 0 || len(b) > MaxChunkBytes || x.Received+int64(len(b)) > x.Size {
		r.replyErr(p, ref, CodeInvalid, "chunk: bad base64, empty, too large or past the declared size")
		return
	}
	if x.Received == 0 && !sniffOK(p.role, x.Name, b) {
		r.abortFile(x, "content does not match the file type")
		r.replyErr(p, ref, CodeForbidden, "content is not a "+filepath.Ext(x.Name)+" file")
		return
	}
	if _, err := x.f.Write(b); err != nil {
		r.abortFile(x, err.Error())
		r.replyErr(p, ref, CodeInternal, err.Error())
		return
	}
	x.h.Write(b)
	x.Received += int64(len(b))
	if x.Received < x.Size {
		r.send(p, TOK, ref, map[string]int64{"received": x.Received})
		return
	}
	sum := hex.EncodeToString(x.h.Sum(nil))
	if x.expect != "" && sum != x.expect {
		r.abortFile(x, "sha256 mismatch")
		r.replyErr(p, ref, CodeInvalid, "sha256 mismatch: file discarded")
		return
	}
	err = x.f.Close()
	if err == nil {
		err = os.Rename(x.path+".part", x.path)
	}
	if err != nil {
		// The received bytes stay in the .part file; the sender is told.
		r.log.Error("file not stored", "file", x.ID, "err", err)
		x.State = "cancelled"
		r.event("file_cancelled", p, map[string]any{"file": x.ID, "reason": err.Error()})
		r.replyErr(p, ref, CodeInternal, "file not stored: "+err.Error())
		return
	}
	x.State, x.SHA256 = "done", sum
	x.URL = fmt.Sprintf("%s/api/files/%s/%s", r.s.cfg.BasePath, r.id, x.ID)
	r.event("file_received", p, map[string]any{"file": x.ID, "sha256": sum})
	fi := x.FileInfo
	r.send(p, TFile, ref, fi)
	r.postMessage(p, "", ChatMessage{Kind: "file", File: &fi, To: x.To})
}

func sniffOK(role, name string, b []byte) bool {
	got := http.DetectContentType(b)
	got, _, _ = strings.Cut(got, ";")
	return slices.Contains(allowedTypes(role)[strings.ToLower(filepath.Ext(name))], got)
}

func (r *room) fileCtl(p *participant, ref string, c *FileCtl) {
	x := r.files[c.FileID]
	if x == nil || (x.owner != p && x.To != p.id) {
		r.replyErr(p, ref, CodeNotFound, "no such transfer")
		return
	}
	switch {
	case x.State == "done" || x.State == "cancelled":
		r.replyErr(p, ref, CodeState, "transfer is "+x.State)
		return
	case c.Action == "pause":
		x.State = "paused"
	case c.Action == "resume":
		x.State = "uploading"
	case c.Action == "cancel":
		r.abortFile(x, "cancelled by "+p.identity)
	}
	r.event("file_"+c.Action, p, map[string]any{"file": x.ID})
	r.send(x.owner, TFile, "", x.FileInfo)
	if x.To != "" {
		if q := r.parts[x.To]; q != nil {
			r.send(q, TFile, "", x.FileInfo)
		}
	}
	r.send(p, TOK, ref, x.FileInfo)
}

func (r *room) abortFile(x *fileXfer, why string) {
	x.State = "cancelled"
	if x.f != nil {
		_ = x.f.Close()
	}
	_ = os.Remove(x.path + ".part")
	r.event("file_cancelled", x.owner, map[string]any{"file": x.ID, "reason": why})
}

func (r *room) fileInfos() []FileInfo {
	out := []FileInfo{}
	for _, x := range r.files {
		out = append(out, x.FileInfo)
	}
	return out
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// apiFile serves a finished file to anyone holding a token for its room.
func (s *Server) apiFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	c, err := Verify(s.cfg.Secret, tok, time.Now())
	if err != nil || c.Room != id {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	rm := s.room(id, "", false)
	if rm == nil {
		http.NotFound(w, r)
		return
	}
	var path, name string
	_ = rm.call(func() {
		if x := rm.files[r.PathValue("file")]; x != nil && x.State == "done" {
			path, name = x.path, x.Name
		}
	})
	if path == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	http.ServeFile(w, r, path)
}
