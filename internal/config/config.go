// Package config is Witness's one configuration tree. It is built in layers,
// each overriding the one before:
//
//  1. code defaults ([Default]);
//  2. a YAML file, decoded strictly: an unknown or misspelt key is an error
//     naming the key and its line, because a silently ignored typo in a bank's
//     deployment is a setting that was never applied;
//  3. environment variables WITNESS_<SECTION>_<FIELD>, generated from the
//     yaml tags so that no knob can be forgotten;
//  4. [Config.Validate], which reports every problem at once.
//
// Only knobs that some code reads belong here; witness.sample.yaml at the
// repository root documents each one at its default.
package config

import (
	"bytes"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. Every field has a snake_case yaml tag;
// a test enforces it, since a misspelt tag (`ymal:`) silently makes a field
// unreachable from the file.
type Config struct {
	Log       LogConfig       `yaml:"log"`       // logging of the witness process
	DataDir   string          `yaml:"data_dir"`  // where recordings and other outputs are written
	Models    ModelsConfig    `yaml:"models"`    // where AI models and ONNX Runtime come from
	Pipeline  PipelineConfig  `yaml:"pipeline"`  // media pipeline limits and timeouts
	Demo      DemoConfig      `yaml:"demo"`      // the `witness demo` job
	Control   ControlConfig   `yaml:"control"`   // `witness serve`: control plane, job workers, storage
	Analyzers AnalyzersConfig `yaml:"analyzers"` // live risk analyzers and no-code plugins
	Signaling SignalingConfig `yaml:"signaling"` // live calls: signaling, SFU and room recording
}

// ControlConfig configures `witness serve`. Empty database, nats_url and
// s3.endpoint mean the single-machine defaults: SQLite, an in-process NATS
// server and recordings on local disk, all under data_dir.
type ControlConfig struct {
	Listen        string        `yaml:"listen"`          // HTTP address of the API, /metrics and mounted servers
	Roles         string        `yaml:"roles"`           // all, or a comma list of control, media, signaling
	Database      string        `yaml:"database"`        // "" = sqlite:<data_dir>/witness.db; or postgres://user:pass@host:port/db
	NATSURL       string        `yaml:"nats_url"`        // "" = run a NATS server in this process; or nats://host:port of a cluster
	NATSListen    string        `yaml:"nats_listen"`     // client address of the in-process NATS server
	FieldCipher   string        `yaml:"field_cipher"`    // sm4-gcm or aes-gcm, for ID/card/phone numbers at rest
	KeyFile       string        `yaml:"key_file"`        // field key file; "" = <data_dir>/field.key, created on first start
	SessionTTL    time.Duration `yaml:"session_ttl"`     // how long a sign-in lasts
	JobAckWait    time.Duration `yaml:"job_ack_wait"`    // a silent worker's job is redelivered after this
	JobMaxDeliver int           `yaml:"job_max_deliver"` // attempts before a job is dead-lettered
	S3            S3Config      `yaml:"s3"`              // object storage for recordings
}

// S3Config selects S3-compatible object storage (MinIO, Ceph, cloud).
type S3Config struct {
	Endpoint  string `yaml:"endpoint"`   // host:port; "" = recordings on local disk under <data_dir>/recordings
	Bucket    string `yaml:"bucket"`     // bucket name (created if missing)
	AccessKey string `yaml:"access_key"` // access key id
	SecretKey string `yaml:"secret_key"` // secret key
	UseSSL    bool   `yaml:"use_ssl"`    // https to the endpoint
	Region    string `yaml:"region"`     // region, if the store needs one
}

// AnalyzersConfig says which analyzers watch calls and which no-code
// (ONNX + YAML manifest) analyzers are loaded at start-up.
type AnalyzersConfig struct {
	Profile string `yaml:"profile"`  // business profile YAML (analyzers, thresholds, sampling, debounce); "" = face, light and occlusion at 5 fps with defaults
	ONNXDir string `yaml:"onnx_dir"` // directory of ONNX analyzer manifests (*.yaml) registered at start-up; "" = none
}

// SignalingConfig configures the live-call server (package signaling;
// `witness sfu`, later `witness serve`). Lists are comma-separated.
type SignalingConfig struct {
	Listen          string                   `yaml:"listen"`           // HTTP/WebSocket address of `witness sfu`
	Secret          string                   `yaml:"secret"`           // HMAC key for join tokens, at least 16 bytes; "" = a random key per run (printed tokens only)
	PublicURL       string                   `yaml:"public_url"`       // base URL in invite links; "" = http://<listen>
	UDPPort         int                      `yaml:"udp_port"`         // one UDP port for all ICE traffic; 0 = an ephemeral port per connection
	IPs             string                   `yaml:"ips"`              // interface addresses offered as ICE candidates; "" = all but loopback
	Loopback        bool                     `yaml:"loopback"`         // also offer 127.0.0.1 (single-machine tests, benchmarks)
	NAT1To1IPs      string                   `yaml:"nat_1to1_ips"`     // public addresses to advertise instead of the host's (behind 1:1 NAT)
	ICEServers      string                   `yaml:"ice_servers"`      // STUN/TURN URLs handed to clients
	ResumeWindow    time.Duration            `yaml:"resume_window"`    // how long a dropped participant is kept for a resume without re-joining
	ICEDisconnected time.Duration            `yaml:"ice_disconnected"` // silence after which a media connection counts as interrupted
	StatsInterval   time.Duration            `yaml:"stats_interval"`   // quality stats pushed to clients
	MaxParticipants int                      `yaml:"max_participants"` // per room, silent monitors included
	Recording       SignalingRecordingConfig `yaml:"recording"`        // server-side recording of rooms
}

// SignalingRecordingConfig configures server-side recording of rooms.
type SignalingRecordingConfig struct {
	Enabled            bool          `yaml:"enabled"`             // record every room from its start (otherwise on a "record" command)
	Dir                string        `yaml:"dir"`                 // spool directory; "" = rooms under data_dir
	Layout             string        `yaml:"layout"`              // built-in layout name or YAML template file
	Width              int           `yaml:"width"`               // composite size; 0 = the layout's canvas
	Height             int           `yaml:"height"`              // composite height (with width)
	FPS                int           `yaml:"fps"`                 // composite frame rate, 7-30
	Bitrate            int           `yaml:"bitrate"`             // composite H.264 kbit/s
	PerParticipant     bool          `yaml:"per_participant"`     // also record each participant on their own
	ScreenshotInterval time.Duration `yaml:"screenshot_interval"` // JPEG of the composite this often; 0 = none
	Watermarks         string        `yaml:"watermarks"`          // watermark YAML file; "" = none
}

// SignalingDir is where room recordings are spooled.
func (c Config) SignalingDir() string {
	if c.Signaling.Recording.Dir != "" {
		return c.Signaling.Recording.Dir
	}
	return filepath.Join(c.DataDir, "rooms")
}

// LogConfig configures the process logger (see internal/logging).
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text (human-readable) or json (for log collectors)
}

// ModelsConfig says where models and the ONNX Runtime library are found.
// Empty strings defer to the models package, which also reads
// WITNESS_MODELS_DIR and WITNESS_ORT_LIB itself.
type ModelsConfig struct {
	Dir            string `yaml:"dir"`              // model cache directory; "" = the models package's default cache dir
	ORTLibrary     string `yaml:"ort_library"`      // path to the ONNX Runtime shared library; "" = the pulled library
	IntraOpThreads int    `yaml:"intra_op_threads"` // ONNX Runtime threads per inference; 1 keeps many concurrent calls from oversubscribing CPUs
}

// PipelineConfig bounds the media pipeline so that a slow or stuck stage
// degrades one call instead of blocking media or hanging the process.
type PipelineConfig struct {
	QueueSize    int           `yaml:"queue_size"`    // frames buffered between stages before dropping (or blocking, for lossless stages)
	StateTimeout time.Duration `yaml:"state_timeout"` // limit on every GStreamer state change; past it the pipeline is reported frozen
	EOSTimeout   time.Duration `yaml:"eos_timeout"`   // watchdog for a graceful end: how long to wait for EOS to reach the sinks
}

// DemoConfig configures `witness demo`, the synthetic two-participant job.
type DemoConfig struct {
	Width    int           `yaml:"width"`    // composited output width in pixels (320-1920, a multiple of 4)
	Height   int           `yaml:"height"`   // output height in pixels (180-1080, even)
	FPS      int           `yaml:"fps"`      // frames per second (7-30)
	Duration time.Duration `yaml:"duration"` // length of the generated call
	Output   string        `yaml:"output"`   // output MP4 path; "" = <data_dir>/demo.mp4
}

// Default returns the built-in configuration. witness.sample.yaml must equal
// it (TestSampleConfigMatchesDefaults).
func Default() Config {
	return Config{
		Log: LogConfig{
			Level:  "info",
			Format: "text",
		},
		DataDir: "./data",
		Models: ModelsConfig{
			IntraOpThreads: 1,
		},
		Pipeline: PipelineConfig{
			QueueSize:    8,
			StateTimeout: 15 * time.Second,
			EOSTimeout:   30 * time.Second,
		},
		Demo: DemoConfig{
			Width:    640,
			Height:   360,
			FPS:      25,
			Duration: 5 * time.Second,
		},
		Control: ControlConfig{
			Listen:        "127.0.0.1:8080",
			Roles:         "all",
			NATSListen:    "127.0.0.1:4222",
			FieldCipher:   "sm4-gcm",
			SessionTTL:    12 * time.Hour,
			JobAckWait:    30 * time.Second,
			JobMaxDeliver: 5,
			S3:            S3Config{Bucket: "witness-recordings"},
		},
		Signaling: SignalingConfig{
			Listen:          ":7880",
			ResumeWindow:    15 * time.Second,
			ICEDisconnected: 1500 * time.Millisecond,
			StatsInterval:   2 * time.Second,
			MaxParticipants: 16,
			Recording: SignalingRecordingConfig{
				Enabled:            true,
				Layout:             "side-by-side",
				FPS:                25,
				Bitrate:            1500,
				PerParticipant:     true,
				ScreenshotInterval: 30 * time.Second,
			},
		},
	}
}

// DemoOutput is the path `witness demo` writes to: demo.output, or
// demo.mp4 under data_dir when that is empty.
func (c Config) DemoOutput() string {
	if c.Demo.Output != "" {
		return c.Demo.Output
	}
	return filepath.Join(c.DataDir, "demo.mp4")
}

// YAML renders the configuration, e.g. for `witness config print`. Durations
// come out as strings ("15s"), so the output loads back unchanged.
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
