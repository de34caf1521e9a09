package av

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/asticode/go-astiav"
)

// probeHead is how much of a file we read to tell "damaged media" from "not
// media" when FFmpeg cannot open it.
const probeHead = 4096

// rejectedFormats are demuxers that accept files which are not recordings:
// tty renders any text file as ANSI art video.
var rejectedFormats = map[string]bool{"tty": true}

// input is an opened, probed container.
type input struct {
	fc   *astiav.FormatContext
	raw  *rawFormat // nil if go-astiav's layout is not what we expect
	size int64
}

func (in *input) close() {
	if in.fc != nil {
		in.fc.CloseInput()
		in.fc.Free()
		in.fc = nil
		in.raw = nil
	}
}

// openInput opens path with FFmpeg and reads stream information. Errors name
// the file and wrap ErrOpen, ErrNotMedia or ErrCorrupt.
func openInput(path string) (*input, error) {
	installLog()
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, newFileError(path, "no such file", ErrOpen, fs.ErrNotExist)
	case errors.Is(err, fs.ErrPermission):
		return nil, newFileError(path, "permission denied", ErrOpen, fs.ErrPermission)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrOpen, err) // os errors already name the file
	case st.IsDir():
		return nil, newFileError(path, "is a directory", ErrOpen)
	case !st.Mode().IsRegular():
		return nil, newFileError(path, "not a regular file", ErrOpen)
	case st.Size() == 0:
		return nil, fmt.Errorf("%s: %w: empty file", path, ErrNotMedia)
	}
	head, err := readHead(path)
	if err != nil {
		return nil, err
	}

	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, fmt.Errorf("%s: %w: out of memory", path, ErrOpen)
	}
	// Only the local file protocol: a playlist-like file (HLS, concat) must
	// not make us fetch URLs or other files named inside it.
	opts := astiav.NewDictionary()
	defer opts.Free()
	_ = opts.Set("protocol_whitelist", "file", 0)
	// "file:" keeps FFmpeg from reading a colon in the name as a protocol.
	if err := fc.OpenInput("file:"+path, nil, opts); err != nil {
		fc.Free() // avformat_open_input already freed the context; Free is nil-safe
		return nil, classifyOpenError(path, head, err)
	}
	in := &input{fc: fc, raw: rawFormatContext(fc), size: st.Size()}
	name := ""
	if f := fc.InputFormat(); f != nil {
		name = f.Name()
	}
	if rejectedFormats[name] {
		in.close()
		return nil, fmt.Errorf("%s: %w (looks like text)", path, ErrNotMedia)
	}
	if err := fc.FindStreamInfo(nil); err != nil && fc.NbStreams() == 0 {
		in.close()
		return nil, fmt.Errorf("%s: %w: %w (%v)", path, ErrNotMedia, ErrNoStreams, err)
	}
	// A FindStreamInfo error with streams present is not fatal (ffprobe
	// carries on too); damaged streams show up in Stats while decoding.
	return in, nil
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, newFileError(path, "permission denied", ErrOpen, fs.ErrPermission)
		}
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	defer f.Close()
	head := make([]byte, probeHead)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return head[:n], nil
}

// classifyOpenError turns avformat_open_input's error into ours. When FFmpeg
// reports invalid data but some demuxer still recognises the first bytes
// (an MP4 whose moov atom was lost), the file is damaged media, not "not
// media": that difference matters for evidence.
func classifyOpenError(path string, head []byte, err error) error {
	if errors.Is(err, astiav.ErrInvaliddata) || errors.Is(err, astiav.ErrDemuxerNotFound) ||
		errors.Is(err, astiav.ErrEof) {
		if format := probeBuffer(head); format != "" && !rejectedFormats[format] {
			return fmt.Errorf("%s: %w: %s header cannot be read (%v)", path, ErrCorrupt, format, err)
		}
		return fmt.Errorf("%s: %w (%v)", path, ErrNotMedia, err)
	}
	return fmt.Errorf("%s: %w: %v", path, ErrOpen, err)
}
