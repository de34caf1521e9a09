// Small C helpers for the parts of FFmpeg 5.1 that go-astiav v0.16 does not
// expose: a bounded log callback, AVFrame fields (best-effort timestamp,
// audio planes), AVStream disposition, content-only probing.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>
#include <libavutil/samplefmt.h>

#include "helpers.h"
#include "_cgo_export.h"

// Messages at or below this FFmpeg level cross into Go. Written from Go,
// read from FFmpeg's threads, hence the atomics.
static int forward_level = AV_LOG_WARNING;

void witness_set_forward_level(int level) {
	__atomic_store_n(&forward_level, level, __ATOMIC_RELAXED);
}

// log_callback formats with vsnprintf into a fixed buffer. go-astiav's own
// callback uses vsprintf into 1024 bytes, which overflows on long messages
// (paths, metadata from a hostile file); evidence files must not crash us.
static void log_callback(void *ptr, int level, const char *fmt, va_list vl) {
	if (level > __atomic_load_n(&forward_level, __ATOMIC_RELAXED)) {
		return;
	}
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, vl);
	const char *item = "";
	uintptr_t key = (uintptr_t)ptr;
	if (ptr) {
		const AVClass *avc = *(const AVClass **)ptr;
		if (avc) {
			item = avc->item_name ? avc->item_name(ptr) : avc->class_name;
			// Frame-threaded decoders log from per-thread copies of the
			// AVCodecContext; opaque (copied to them) names the original.
			if (avc == avcodec_get_class()) {
				AVCodecContext *cc = ptr;
				if (cc->opaque) {
					key = (uintptr_t)cc->opaque;
				}
			}
		}
	}
	witnessAVLog(key, level, (char *)(item ? item : ""), msg);
}

void witness_install_log_callback(void) {
	av_log_set_callback(log_callback);
}

int witness_is_format_context(void *p) {
	return p && *(const AVClass **)p == avformat_get_class();
}

int witness_is_codec_context(void *p) {
	return p && *(const AVClass **)p == avcodec_get_class();
}

int witness_stream_disposition(AVFormatContext *fc, int index) {
	if (index < 0 || (unsigned)index >= fc->nb_streams) return 0;
	return fc->streams[index]->disposition;
}

int witness_stream_channels(AVFormatContext *fc, int index) {
	if (index < 0 || (unsigned)index >= fc->nb_streams) return 0;
	return fc->streams[index]->codecpar->ch_layout.nb_channels;
}

// witness_stream_layout describes the channel layout ("stereo", "5.1")
// into buf without allocating.
int witness_stream_layout(AVFormatContext *fc, int index, char *buf, int size) {
	if (index < 0 || (unsigned)index >= fc->nb_streams || size <= 0) return -1;
	buf[0] = 0;
	return av_channel_layout_describe(&fc->streams[index]->codecpar->ch_layout, buf, size);
}

int witness_io_eof(AVFormatContext *fc) {
	return fc->pb ? avio_feof(fc->pb) : 0;
}

int witness_io_error(AVFormatContext *fc) {
	return fc->pb ? fc->pb->error : 0;
}

// witness_probe_buffer asks every demuxer whether buf looks like its format,
// ignoring the file name so that an extension cannot vouch for the content.
// buf must be followed by AVPROBE_PADDING_SIZE zero bytes.
const char *witness_probe_buffer(uint8_t *buf, int size, int *score) {
	AVProbeData pd;
	memset(&pd, 0, sizeof pd);
	pd.filename = "";
	pd.buf = buf;
	pd.buf_size = size;
	*score = AVPROBE_SCORE_RETRY;
	const AVInputFormat *f = av_probe_input_format2(&pd, 1, score);
	return f ? f->name : NULL;
}

// witness_codec_setup gives the decoder the stream time base (needed to
// place frames after skipped priming samples) and marks the context so log
// lines from its worker threads can be attributed to the stream.
void witness_codec_setup(AVCodecContext *cc, AVFormatContext *fc, int index) {
	if (index >= 0 && (unsigned)index < fc->nb_streams) {
		cc->pkt_timebase = fc->streams[index]->time_base;
	}
	cc->opaque = cc;
}

const char *witness_profile_name(int codec_id, int profile) {
	if (profile == FF_PROFILE_UNKNOWN) return NULL;
	return avcodec_profile_name((enum AVCodecID)codec_id, profile);
}

int witness_is_sws_context(void *p) {
	return p && *(const AVClass **)p == sws_get_class();
}

// witness_sws_colorspace tells the scaler the source's YUV matrix and range.
// sws_scale_frame in FFmpeg 5.1 ignores both frame fields, which turns
// BT.709 (HD) or full-range (phone) video into wrong RGB.
int witness_sws_colorspace(struct SwsContext *sws, const AVFrame *src) {
	int *inv_table, *table, src_range, dst_range, brightness, contrast, saturation;
	if (sws_getColorspaceDetails(sws, &inv_table, &src_range, &table, &dst_range,
	                             &brightness, &contrast, &saturation) < 0) {
		return -1;
	}
	int cs = src->colorspace;
	if (cs < 0 || cs > AVCOL_SPC_BT2020_CL || cs == AVCOL_SPC_RGB) {
		cs = SWS_CS_DEFAULT;
	}
	if (src->color_range == AVCOL_RANGE_JPEG) {
		src_range = 1;
	}
	return sws_setColorspaceDetails(sws, sws_getCoefficients(cs), src_range, table, dst_range,
	                                brightness, contrast, saturation);
}

int64_t witness_frame_best_effort(const AVFrame *f) {
	return f->best_effort_timestamp;
}

int64_t witness_frame_duration(const AVFrame *f) {
	return f->pkt_duration;
}

int witness_frame_damaged(const AVFrame *f) {
	return (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags;
}

// witness_frame_color packs colorspace and range so a change is noticed.
int witness_frame_color(const AVFrame *f) {
	return (f->colorspace << 8) | f->color_range;
}

int witness_frame_channels(const AVFrame *f) {
	return f->ch_layout.nb_channels;
}

// witness_frame_plane returns audio plane i, or NULL when the frame has no
// such plane or its buffers are smaller than need bytes (never read past
// what FFmpeg allocated).
uint8_t *witness_frame_plane(const AVFrame *f, int i, int need) {
	int planes = av_sample_fmt_is_planar(f->format) ? f->ch_layout.nb_channels : 1;
	if (i < 0 || i >= planes || !f->extended_data || f->linesize[0] < need) {
		return NULL;
	}
	return f->extended_data[i];
}
