package av

// #cgo pkg-config: libavcodec libavformat libavutil libswscale
// #include "helpers.h"
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// classLayout mirrors astiav.Class (v0.16: {c *AVClass; ptr unsafe.Pointer}).
// go-astiav keeps the C pointers of its objects private; Class() is the one
// accessor that carries them. The C side checks the AVClass of whatever we
// get before using it, so a layout change in another go-astiav version
// degrades to "no pointer" instead of memory corruption.
type classLayout struct {
	c   unsafe.Pointer
	ptr unsafe.Pointer
}

func classPtr(c astiav.Classer) unsafe.Pointer {
	cl := c.Class()
	if cl == nil {
		return nil
	}
	return (*classLayout)(unsafe.Pointer(cl)).ptr
}

// rawFormatContext returns the AVFormatContext behind fc, or nil.
func rawFormatContext(fc *astiav.FormatContext) *C.AVFormatContext {
	p := classPtr(fc)
	if C.witness_is_format_context(p) == 0 {
		return nil
	}
	return (*C.AVFormatContext)(p)
}

// rawCodecContext returns the AVCodecContext behind cc, or nil.
func rawCodecContext(cc *astiav.CodecContext) *C.AVCodecContext {
	p := classPtr(cc)
	if C.witness_is_codec_context(p) == 0 {
		return nil
	}
	return (*C.AVCodecContext)(p)
}

// rawFrame returns the AVFrame behind f.
func rawFrame(f *astiav.Frame) *C.AVFrame {
	return (*C.AVFrame)(f.UnsafePointer())
}

// rawFormat lets files without import "C" hold an AVFormatContext pointer.
type rawFormat = C.AVFormatContext

// Disposition bits we act on (AV_DISPOSITION_*).
const dispositionAttachedPic = C.AV_DISPOSITION_ATTACHED_PIC

func streamDisposition(fc *C.AVFormatContext, index int) int {
	if fc == nil {
		return 0
	}
	return int(C.witness_stream_disposition(fc, C.int(index)))
}

func streamChannels(fc *C.AVFormatContext, index int) int {
	if fc == nil {
		return 0
	}
	return int(C.witness_stream_channels(fc, C.int(index)))
}

func streamLayout(fc *C.AVFormatContext, index int) string {
	if fc == nil {
		return ""
	}
	var buf [128]C.char
	if C.witness_stream_layout(fc, C.int(index), &buf[0], C.int(len(buf))) < 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

// ioAtEOF reports whether the demuxer's reader hit the end of the file or a
// read error; used to tell a truncated file from a recoverable bad packet.
func ioAtEOF(fc *C.AVFormatContext) bool {
	if fc == nil {
		return false
	}
	return C.witness_io_eof(fc) != 0 || C.witness_io_error(fc) != 0
}

// probeBuffer returns the demuxer that recognises head by content alone, or
// "" when none does with a reasonable score.
func probeBuffer(head []byte) string {
	n := len(head)
	// FFmpeg reads up to AVPROBE_PADDING_SIZE bytes past the end.
	buf := make([]byte, n+C.AVPROBE_PADDING_SIZE)
	copy(buf, head)
	var score C.int
	name := C.witness_probe_buffer((*C.uint8_t)(unsafe.Pointer(&buf[0])), C.int(n), &score)
	if name == nil {
		return ""
	}
	return C.GoString(name)
}

func setupCodecContext(cc *astiav.CodecContext, fc *C.AVFormatContext, index int) unsafe.Pointer {
	raw := rawCodecContext(cc)
	if raw == nil || fc == nil {
		return nil
	}
	C.witness_codec_setup(raw, fc, C.int(index))
	return unsafe.Pointer(raw)
}

func profileName(id astiav.CodecID, profile astiav.Profile) string {
	p := C.witness_profile_name(C.int(id), C.int(profile))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// swsColorspace applies src's colour matrix and range to sws.
func swsColorspace(sws *astiav.SoftwareScaleContext, src *astiav.Frame) {
	p := classPtr(sws)
	if C.witness_is_sws_context(p) == 0 {
		return
	}
	C.witness_sws_colorspace((*C.struct_SwsContext)(p), rawFrame(src))
}

func frameBestEffort(f *astiav.Frame) int64 {
	return int64(C.witness_frame_best_effort(rawFrame(f)))
}

func frameDuration(f *astiav.Frame) int64 {
	return int64(C.witness_frame_duration(rawFrame(f)))
}

func frameDamaged(f *astiav.Frame) bool {
	return C.witness_frame_damaged(rawFrame(f)) != 0
}

func frameColor(f *astiav.Frame) int {
	return int(C.witness_frame_color(rawFrame(f)))
}

func frameChannels(f *astiav.Frame) int {
	return int(C.witness_frame_channels(rawFrame(f)))
}

// framePlane returns audio plane i of f as a byte slice of n bytes that
// aliases FFmpeg's buffer (valid until the frame is unreferenced), or nil
// when FFmpeg's buffer is smaller than n.
func framePlane(f *astiav.Frame, i, n int) []byte {
	p := C.witness_frame_plane(rawFrame(f), C.int(i), C.int(n))
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

// halveYUV420P writes src halved both ways (w x h, tightly packed I420)
// into dst, filtering as swscale's bilinear mode does; false when src is
// not limited-range yuv420p of exactly twice that size (use swscale).
func halveYUV420P(src *astiav.Frame, dst []byte, w, h int) bool {
	if len(dst) == 0 {
		return false
	}
	return C.witness_halve_yuv420p(rawFrame(src), (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(len(dst)), C.int(w), C.int(h)) == 0
}
