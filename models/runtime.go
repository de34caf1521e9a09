package models

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ortState guards the process-wide ONNX Runtime environment: onnxruntime_go
// keeps one global environment, loaded from one shared library.
var ortState struct {
	mu   sync.Mutex
	done bool
	path string
}

// InitRuntime loads the ONNX Runtime shared library and creates the
// process-wide environment. The library is, in order: libPath if not empty,
// else $WITNESS_ORT_LIB, else the pulled "onnxruntime" artifact in Dir()
// (verified against the manifest).
//
// Like sync.Once, the first successful call wins and later calls return nil
// without doing anything; a later call naming a different libPath gets an
// error, since the loaded library cannot be swapped. Unlike sync.Once, a
// failure is not remembered, so a caller can pull the library and try again.
// A missing or unloadable library gives an error wrapping ErrRuntimeMissing.
// If another package already initialised onnxruntime_go, that environment is
// used as is.
func InitRuntime(libPath string) error {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if ortState.done {
		if libPath != "" && libPath != ortState.path {
			return fmt.Errorf("models: onnx runtime already loaded from %s, cannot switch to %s", ortState.path, libPath)
		}
		return nil
	}
	if ort.IsInitialized() {
		ortState.done, ortState.path = true, "(initialised outside package models)"
		return nil
	}
	p, err := runtimeLibPath(libPath)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(p)
	// Error level only: ORT's warnings (e.g. about unused initialisers in
	// converted models) would otherwise go to stderr of every media process.
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: loading %s: %v", ErrRuntimeMissing, p, err)
	}
	ortState.done, ortState.path = true, p
	return nil
}

// RuntimeLoaded returns the path InitRuntime loaded, or "" before success.
func RuntimeLoaded() string {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	return ortState.path
}

func runtimeLibPath(libPath string) (string, error) {
	src := "argument"
	if libPath == "" {
		libPath, src = os.Getenv(EnvORTLib), "$"+EnvORTLib
	}
	if libPath == "" {
		p, err := Path(Dir(), "onnxruntime")
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrRuntimeMissing, err)
		}
		return p, nil
	}
	fi, err := os.Stat(libPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s (from %s) does not exist; unset it to use the pulled library, or %s", ErrRuntimeMissing, libPath, src, pullHint)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRuntimeMissing, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s (from %s) is not a file", ErrRuntimeMissing, libPath, src)
	}
	return libPath, nil
}

// Option configures OpenONNX.
type Option func(*sessionConfig)

type sessionConfig struct {
	intraOp int
}

// WithIntraOpThreads sets the threads ONNX Runtime may use inside one
// operator. The default is 1: Witness runs on small boxes (2 cores) next to
// real-time media, and ORT's default of one thread per core would starve it.
func WithIntraOpThreads(n int) Option {
	return func(c *sessionConfig) { c.intraOp = n }
}

// Session is an ONNX model loaded in ONNX Runtime. Run may be called from
// several goroutines; Close waits for running calls.
type Session struct {
	mu      sync.RWMutex
	path    string
	sess    *ort.DynamicAdvancedSession
	inputs  []IOInfo
	outputs []IOInfo
}

// Open opens the named manifest model from Dir() in ONNX Runtime. A missing
// model gives an error wrapping ErrModelMissing with the hint to pull.
func Open(name string, opts ...Option) (*Session, error) {
	p, err := Path(Dir(), name)
	if err != nil {
		return nil, err
	}
	return OpenONNX(p, opts...)
}

// OpenONNX loads the ONNX model at path, initialising the runtime with
// InitRuntime("") if needed. The model's inputs and outputs are read from
// the file; only float32 and int64 tensors are supported. A corrupt or
// non-ONNX file gives an error wrapping ErrInvalidModel (ONNX Runtime reports
// parse failures as errors, it does not crash).
func OpenONNX(path string, opts ...Option) (*Session, error) {
	cfg := sessionConfig{intraOp: 1}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.intraOp < 1 {
		return nil, fmt.Errorf("models: intra-op threads must be >= 1, got %d", cfg.intraOp)
	}
	if err := InitRuntime(""); err != nil {
		return nil, err
	}
	if err := checkModelFile(path); err != nil {
		return nil, err
	}
	so, err := newSessionOptions(cfg.intraOp)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	ins, outs, err := modelInfo(path, so)
	if err != nil {
		return nil, err
	}
	inNames := make([]string, len(ins))
	for i, x := range ins {
		inNames[i] = x.Name
	}
	outNames := make([]string, len(outs))
	for i, x := range outs {
		outNames[i] = x.Name
	}
	sess, err := ort.NewDynamicAdvancedSession(path, inNames, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	return &Session{path: path, sess: sess, inputs: ins, outputs: outs}, nil
}

// newSessionOptions returns ORT session options with intraOp threads per
// operator and a single inter-op thread (one model, sequential graph: a
// second pool only costs threads). The caller destroys them.
func newSessionOptions(intraOp int) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("models: session options: %w", err)
	}
	if err := so.SetIntraOpNumThreads(intraOp); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("models: session options: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("models: session options: %w", err)
	}
	return so, nil
}

// checkModelFile gives a plain error for a missing path or a directory
// before ONNX Runtime produces a less direct one.
func checkModelFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: model file %s does not exist", ErrModelMissing, path)
	}
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrInvalidModel, path)
	}
	return nil
}

// modelInfo reads the model's declared inputs and outputs through a
// temporary ORT session (so must be called after InitRuntime).
func modelInfo(path string, so *ort.SessionOptions) ([]IOInfo, []IOInfo, error) {
	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s is not a loadable ONNX model: %v", ErrInvalidModel, path, err)
	}
	in, err := convertInfos(path, "input", ins)
	if err != nil {
		return nil, nil, err
	}
	out, err := convertInfos(path, "output", outs)
	if err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

func convertInfos(path, what string, infos []ort.InputOutputInfo) ([]IOInfo, error) {
	out := make([]IOInfo, len(infos))
	for i, x := range infos {
		if x.OrtValueType != ort.ONNXTypeTensor {
			return nil, fmt.Errorf("%w: %s: %s %q is a %v, only tensors are supported", ErrInvalidModel, path, what, x.Name, x.OrtValueType)
		}
		var dt string
		switch x.DataType {
		case ort.TensorElementDataTypeFloat:
			dt = DTypeFloat32
		case ort.TensorElementDataTypeInt64:
			dt = DTypeInt64
		default:
			return nil, fmt.Errorf("%w: %s: %s %q has element type %v, only float32 and int64 are supported", ErrInvalidModel, path, what, x.Name, x.DataType)
		}
		out[i] = IOInfo{Name: x.Name, Shape: slices.Clone([]int64(x.Dimensions)), DType: dt}
	}
	return out, nil
}

// Path returns the model file the session was opened from.
func (s *Session) Path() string { return s.path }

// Inputs returns the model's inputs in the order Run expects them.
func (s *Session) Inputs() []IOInfo { return cloneInfos(s.inputs) }

// Outputs returns the model's outputs in the order Run returns them.
func (s *Session) Outputs() []IOInfo { return cloneInfos(s.outputs) }

// Run feeds one tensor per input, in Inputs() order, and returns one tensor
// per output, in Outputs() order. Inputs are checked against the model first
// (dtype, rank, fixed dimensions, data length) so mistakes come back as
// ErrBadTensor naming the input. Input data is used in place, not copied;
// outputs are fresh Go slices.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, fmt.Errorf("models: run %s: %w", s.path, ErrClosed)
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("%w: %s takes %d inputs, got %d", ErrBadTensor, s.path, len(s.inputs), len(inputs))
	}
	vals := make([]ort.Value, 0, len(inputs))
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	for i, t := range inputs {
		if err := s.inputs[i].check(t); err != nil {
			return nil, err
		}
		v, err := toORT(t)
		if err != nil {
			return nil, fmt.Errorf("models: input %q: %w", s.inputs[i].Name, err)
		}
		vals = append(vals, v)
	}
	outs := make([]ort.Value, len(s.outputs)) // nil: ORT allocates them
	if err := s.sess.Run(vals, outs); err != nil {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
		return nil, fmt.Errorf("models: run %s: %w", s.path, err)
	}
	res := make([]Tensor, len(outs))
	var firstErr error
	for i, o := range outs {
		t, err := fromORT(o)
		o.Destroy()
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("models: output %q: %w", s.outputs[i].Name, err)
		}
		res[i] = t
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return res, nil
}

// Close releases the session. Further Run calls return ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}

// toORT wraps t's data (no copy) in an ORT value. A rank-0 tensor needs
// ort.Scalar: ort.NewTensor indexes the shape's first dimension.
func toORT(t Tensor) (ort.Value, error) {
	switch {
	case len(t.Shape) == 0 && t.Float32 != nil:
		return ort.NewScalar(t.Float32[0])
	case len(t.Shape) == 0:
		return ort.NewScalar(t.Int64[0])
	case t.Float32 != nil:
		return ort.NewTensor(ort.NewShape(t.Shape...), t.Float32)
	default:
		return ort.NewTensor(ort.NewShape(t.Shape...), t.Int64)
	}
}

// fromORT copies an ORT output into Go memory.
func fromORT(v ort.Value) (Tensor, error) {
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		// append to a non-nil empty slice so an empty output still reports
		// its dtype.
		return Tensor{Shape: slices.Clone([]int64(x.GetShape())), Float32: append([]float32{}, x.GetData()...)}, nil
	case *ort.Tensor[int64]:
		return Tensor{Shape: slices.Clone([]int64(x.GetShape())), Int64: append([]int64{}, x.GetData()...)}, nil
	case nil:
		return Tensor{}, errors.New("runtime returned no value")
	default:
		return Tensor{}, fmt.Errorf("unsupported output value %T", v)
	}
}
