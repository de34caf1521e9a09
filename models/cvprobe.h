// cvprobe: OpenCV DNN calls wrapped in try/catch. gocv's own wrappers let C++
// exceptions escape, which aborts the whole Go process; these let package
// models try a model first and turn a failure into a Go error.
#ifndef WITNESS_MODELS_CVPROBE_H
#define WITNESS_MODELS_CVPROBE_H

#ifdef __cplusplus
extern "C" {
#endif

// witness_cv_probe reads the ONNX file at path, feeds a zero blob of the
// given dims and computes the named outputs. It returns 0 on success, else
// non-zero with a message in err (NUL-terminated, at most errlen bytes).
int witness_cv_probe(const char* path, const int* dims, int ndims,
                     const char** outputs, int noutputs, char* err, int errlen);

#ifdef __cplusplus
}
#endif

#endif
