package models

import (
	"fmt"
	"slices"
)

// Element types as named in the manifest and in IOInfo.
const (
	DTypeFloat32 = "float32"
	DTypeInt64   = "int64"
)

// Tensor is a dense row-major tensor in Go memory, so callers never import
// onnxruntime_go or gocv. Exactly one of Float32 and Int64 holds the data;
// an empty Shape is a scalar (one element).
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
}

// Float32Tensor returns a float32 tensor over data (not copied).
func Float32Tensor(data []float32, shape ...int64) Tensor {
	return Tensor{Shape: shape, Float32: data}
}

// Int64Tensor returns an int64 tensor over data (not copied).
func Int64Tensor(data []int64, shape ...int64) Tensor {
	return Tensor{Shape: shape, Int64: data}
}

// DType returns DTypeFloat32 or DTypeInt64, or "" if the tensor holds both
// or neither kind of data.
func (t Tensor) DType() string {
	switch {
	case t.Float32 != nil && t.Int64 == nil:
		return DTypeFloat32
	case t.Int64 != nil && t.Float32 == nil:
		return DTypeInt64
	}
	return ""
}

// Elements returns the number of elements the shape calls for.
func (t Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

func (t Tensor) dataLen() int {
	if t.Float32 != nil {
		return len(t.Float32)
	}
	return len(t.Int64)
}

// IOInfo is a model input or output as the runtime reports it.
type IOInfo struct {
	Name string
	// Shape as declared; -1 marks a dynamic dimension, empty is a scalar.
	Shape []int64
	// DType is DTypeFloat32 or DTypeInt64.
	DType string
}

// Static reports whether every dimension is fixed.
func (info IOInfo) Static() bool { return staticShape(info.Shape) }

// check returns an ErrBadTensor error if t cannot feed the input info.
func (info IOInfo) check(t Tensor) error {
	dt := t.DType()
	if dt == "" {
		return fmt.Errorf("%w: input %q: set exactly one of Float32 and Int64", ErrBadTensor, info.Name)
	}
	if dt != info.DType {
		return fmt.Errorf("%w: input %q: got %s data, model wants %s", ErrBadTensor, info.Name, dt, info.DType)
	}
	if len(t.Shape) != len(info.Shape) {
		return fmt.Errorf("%w: input %q: shape %v has rank %d, model wants %v", ErrBadTensor, info.Name, t.Shape, len(t.Shape), info.Shape)
	}
	for i, d := range t.Shape {
		if d <= 0 || (info.Shape[i] > 0 && d != info.Shape[i]) {
			return fmt.Errorf("%w: input %q: shape %v, model wants %v", ErrBadTensor, info.Name, t.Shape, info.Shape)
		}
	}
	if int64(t.dataLen()) != t.Elements() {
		return fmt.Errorf("%w: input %q: shape %v needs %d values, got %d", ErrBadTensor, info.Name, t.Shape, t.Elements(), t.dataLen())
	}
	return nil
}

func cloneInfos(in []IOInfo) []IOInfo {
	out := make([]IOInfo, len(in))
	for i, x := range in {
		out[i] = IOInfo{Name: x.Name, Shape: slices.Clone(x.Shape), DType: x.DType}
	}
	return out
}
