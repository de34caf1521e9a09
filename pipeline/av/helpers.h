// Declarations of the small C helpers in helpers.c. Only declarations live
// here: log.go uses //export, and cgo forbids definitions in the preamble of
// a file that exports.
#ifndef WITNESS_AV_HELPERS_H
#define WITNESS_AV_HELPERS_H

#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

// Logging.
void witness_install_log_callback(void);
void witness_set_forward_level(int level);

// Pointer checks: 1 when p is a live object of that AVClass.
int witness_is_format_context(void *p);
int witness_is_codec_context(void *p);

// Demuxer.
int witness_stream_disposition(AVFormatContext *fc, int index);
int witness_stream_channels(AVFormatContext *fc, int index);
int witness_stream_layout(AVFormatContext *fc, int index, char *buf, int size);
int witness_io_eof(AVFormatContext *fc);
int witness_io_error(AVFormatContext *fc);
const char *witness_probe_buffer(uint8_t *buf, int size, int *score);

// Decoder.
void witness_codec_setup(AVCodecContext *cc, AVFormatContext *fc, int index);
const char *witness_profile_name(int codec_id, int profile);

// Scaler.
int witness_is_sws_context(void *p);
int witness_sws_colorspace(struct SwsContext *sws, const AVFrame *src);
int witness_halve_yuv420p(const AVFrame *f, uint8_t *dst, int size, int dw, int dh);

// Frames.
int64_t witness_frame_best_effort(const AVFrame *f);
int64_t witness_frame_duration(const AVFrame *f);
int witness_frame_damaged(const AVFrame *f);
int witness_frame_color(const AVFrame *f);
int witness_frame_channels(const AVFrame *f);
uint8_t *witness_frame_plane(const AVFrame *f, int i, int need);

#endif
