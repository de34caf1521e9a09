package models

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: --std=c++11
// #include <stdlib.h>
// #include "cvprobe.h"
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"gocv.io/x/gocv"
)

// CVNet is a static-shape ONNX model loaded in OpenCV DNN. OpenCV is an
// alternative to ONNX Runtime for the few models it imports (BlazeFace);
// prefer Session otherwise. A CVNet is safe for concurrent use: Forward calls
// are serialised, because a cv::dnn::Net is not reentrant.
type CVNet struct {
	mu      sync.Mutex
	path    string
	net     *gocv.Net
	input   IOInfo
	outputs []IOInfo
}

// OpenCV loads the ONNX model at path in OpenCV DNN (gocv.ReadNetFromONNX).
//
// OpenCV aborts the whole process, rather than failing, on an ONNX file its
// importer cannot handle, so the file is vetted first:
//
//  1. ONNX Runtime must load it (InitRuntime("") is called if needed): a
//     corrupt or non-ONNX file gives ErrInvalidModel;
//  2. every input shape must be all-static (ErrNotStaticShape otherwise),
//     and there must be exactly one float32 input and only float32 outputs;
//  3. OpenCV reads it and runs one zero blob through it inside a C++
//     try/catch (ErrOpenCV with OpenCV's message if that throws).
//
// Only then does gocv see the file, and later Forward calls use exactly the
// shape that was tried.
func OpenCV(path string) (*CVNet, error) {
	if err := InitRuntime(""); err != nil {
		return nil, err
	}
	if err := checkModelFile(path); err != nil {
		return nil, err
	}
	so, err := newSessionOptions(1)
	if err != nil {
		return nil, err
	}
	ins, outs, err := modelInfo(path, so)
	so.Destroy()
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if !in.Static() {
			return nil, fmt.Errorf("%w: %s input %q has shape %v; OpenCV DNN gets static-shape models only, use OpenONNX", ErrNotStaticShape, path, in.Name, in.Shape)
		}
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("%w: %s has %d inputs; the OpenCV loader takes single-input models, use OpenONNX", ErrInvalidModel, path, len(ins))
	}
	in := ins[0]
	if in.DType != DTypeFloat32 {
		return nil, fmt.Errorf("%w: %s input %q is %s; the OpenCV loader takes float32", ErrInvalidModel, path, in.Name, in.DType)
	}
	for _, o := range outs {
		if o.DType != DTypeFloat32 {
			return nil, fmt.Errorf("%w: %s output %q is %s; the OpenCV loader returns float32", ErrInvalidModel, path, o.Name, o.DType)
		}
	}
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.Name
	}
	if err := cvProbe(path, in.Shape, names); err != nil {
		return nil, err
	}
	net := gocv.ReadNetFromONNX(path)
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("%w: %s: OpenCV read an empty network", ErrOpenCV, path)
	}
	return &CVNet{path: path, net: &net, input: in, outputs: outs}, nil
}

// cvProbe runs witness_cv_probe: load, one forward pass with zeros of shape,
// computing the named outputs; any C++ exception becomes an ErrOpenCV error.
func cvProbe(path string, shape []int64, outputs []string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	dims := make([]C.int, len(shape))
	for i, d := range shape {
		dims[i] = C.int(d)
	}
	// The C side reads these pointers only during the call; C memory keeps
	// cgo's pointer rules simple.
	cnames := C.malloc(C.size_t(len(outputs)) * C.size_t(unsafe.Sizeof((*C.char)(nil))))
	defer C.free(cnames)
	names := unsafe.Slice((**C.char)(cnames), len(outputs))
	for i, o := range outputs {
		names[i] = C.CString(o)
		defer C.free(unsafe.Pointer(names[i]))
	}
	const errLen = 1024
	cerr := (*C.char)(C.calloc(errLen, 1))
	defer C.free(unsafe.Pointer(cerr))
	rc := C.witness_cv_probe(cpath, &dims[0], C.int(len(dims)), (**C.char)(cnames), C.int(len(outputs)), cerr, errLen)
	if rc != 0 {
		msg := strings.TrimSpace(C.GoString(cerr))
		// OpenCV messages span lines ("OpenCV(4.6.0) file:line: error: ...");
		// keep them on one.
		msg = strings.Join(strings.Fields(msg), " ")
		return fmt.Errorf("%w: %s cannot be run by OpenCV DNN: %s", ErrOpenCV, path, msg)
	}
	return nil
}

// Path returns the model file the net was opened from.
func (n *CVNet) Path() string { return n.path }

// Input returns the model's single input; Forward takes exactly its shape.
func (n *CVNet) Input() IOInfo { return cloneInfos([]IOInfo{n.input})[0] }

// Outputs returns the outputs in the order Forward returns them.
func (n *CVNet) Outputs() []IOInfo { return cloneInfos(n.outputs) }

// Forward runs one blob through the net and returns one tensor per output,
// copied into Go memory. The blob must be float32 with exactly Input().Shape
// (for most models NCHW; BlazeFace's is NHWC [1,128,128,3]); anything else is
// ErrBadTensor, checked before OpenCV sees it, since OpenCV would throw.
func (n *CVNet) Forward(blob Tensor) ([]Tensor, error) {
	if err := n.input.check(blob); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.net == nil {
		return nil, fmt.Errorf("models: forward %s: %w", n.path, ErrClosed)
	}
	sizes := make([]int, len(blob.Shape))
	for i, d := range blob.Shape {
		sizes[i] = int(d)
	}
	// Copy into an OpenCV-owned Mat: a Mat built over Go memory
	// (NewMatWithSizesFromBytes) would outlive the cgo call that passed it.
	in := gocv.NewMatWithSizes(sizes, gocv.MatTypeCV32F)
	defer in.Close()
	dst, err := in.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("models: forward %s: %w", n.path, err)
	}
	copy(dst, blob.Float32)
	n.net.SetInput(in, "")
	names := make([]string, len(n.outputs))
	for i, o := range n.outputs {
		names[i] = o.Name
	}
	mats := n.net.ForwardLayers(names)
	defer func() {
		for i := range mats {
			mats[i].Close()
		}
	}()
	if len(mats) != len(names) {
		return nil, fmt.Errorf("%w: forward %s: got %d outputs, want %d", ErrOpenCV, n.path, len(mats), len(names))
	}
	res := make([]Tensor, len(mats))
	for i := range mats {
		data, err := mats[i].DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("%w: forward %s: output %q: %v", ErrOpenCV, n.path, names[i], err)
		}
		dims := mats[i].Size()
		shape := make([]int64, len(dims))
		for j, d := range dims {
			shape[j] = int64(d)
		}
		res[i] = Tensor{Shape: shape, Float32: append([]float32{}, data...)}
	}
	return res, nil
}

// Close releases the net. Further Forward calls return ErrClosed.
func (n *CVNet) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.net == nil {
		return nil
	}
	err := n.net.Close()
	n.net = nil
	return err
}
