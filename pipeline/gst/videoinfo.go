package gst

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-video-1.0
#include <gst/gst.h>
#include <gst/video/video.h>

// layoutFromCaps fills plane offsets and strides for raw video caps; go-gst
// v1.4 does not expose them and guessing strides breaks odd widths.
static int layoutFromCaps(GstCaps *caps, int *w, int *h, int *nplanes, gsize *offset, gint *stride, gsize *size) {
	GstVideoInfo info;
	if (!gst_video_info_from_caps(&info, caps)) return 0;
	*w = GST_VIDEO_INFO_WIDTH(&info);
	*h = GST_VIDEO_INFO_HEIGHT(&info);
	*nplanes = GST_VIDEO_INFO_N_PLANES(&info);
	for (int i = 0; i < *nplanes && i < 4; i++) {
		offset[i] = GST_VIDEO_INFO_PLANE_OFFSET(&info, i);
		stride[i] = GST_VIDEO_INFO_PLANE_STRIDE(&info, i);
	}
	*size = GST_VIDEO_INFO_SIZE(&info);
	return 1;
}

static int layoutFor(const char *fmt, int w, int h, gsize *offset, gint *stride, gsize *size) {
	GstVideoInfo info;
	GstVideoFormat f = gst_video_format_from_string(fmt);
	if (f == GST_VIDEO_FORMAT_UNKNOWN) return 0;
	gst_video_info_init(&info);
	if (!gst_video_info_set_format(&info, f, w, h)) return 0;
	for (int i = 0; i < GST_VIDEO_INFO_N_PLANES(&info) && i < 4; i++) {
		offset[i] = GST_VIDEO_INFO_PLANE_OFFSET(&info, i);
		stride[i] = GST_VIDEO_INFO_PLANE_STRIDE(&info, i);
	}
	*size = GST_VIDEO_INFO_SIZE(&info);
	return GST_VIDEO_INFO_N_PLANES(&info);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/go-gst/go-gst/gst"

	"github.com/witness-media/witness/pipeline"
)

// videoLayout is GStreamer's memory layout of one raw video buffer.
type videoLayout struct {
	width, height int
	planes        int
	offset        [4]int
	stride        [4]int
	size          int
}

func layoutFromCaps(caps *gst.Caps) (videoLayout, error) {
	var l videoLayout
	var w, h, n C.int
	var off [4]C.gsize
	var str [4]C.gint
	var size C.gsize
	if C.layoutFromCaps((*C.GstCaps)(caps.Unsafe()), &w, &h, &n, &off[0], &str[0], &size) == 0 {
		return l, fmt.Errorf("%w: caps %s", pipeline.ErrUnsupported, caps.String())
	}
	l.width, l.height, l.planes, l.size = int(w), int(h), int(n), int(size)
	for i := 0; i < l.planes && i < 4; i++ {
		l.offset[i], l.stride[i] = int(off[i]), int(str[i])
	}
	return l, nil
}

func layoutFor(format pipeline.PixelFormat, w, h int) (videoLayout, error) {
	l := videoLayout{width: w, height: h}
	cs := C.CString(string(format))
	defer C.free(unsafe.Pointer(cs))
	var off [4]C.gsize
	var str [4]C.gint
	var size C.gsize
	n := C.layoutFor(cs, C.int(w), C.int(h), &off[0], &str[0], &size)
	if n == 0 {
		return l, fmt.Errorf("%w: pixel format %q %dx%d", pipeline.ErrUnsupported, format, w, h)
	}
	l.planes, l.size = int(n), int(size)
	for i := 0; i < l.planes; i++ {
		l.offset[i], l.stride[i] = int(off[i]), int(str[i])
	}
	return l, nil
}

// planeRows is the number of rows in plane i of a frame of the given format.
func planeRows(format pipeline.PixelFormat, height, i int) int {
	if format == pipeline.PixelI420 && i > 0 {
		return (height + 1) / 2
	}
	return height
}
