package remote

import "github.com/pulumi/pulumi-go-provider/infer"

// Logging is command:remote:Logging (remote/logging.go): which streams go to the engine's log.
// Output is always captured into stdout/stderr whatever this says.
type Logging string

const (
	LogStdout          Logging = "stdout"
	LogStderr          Logging = "stderr"
	LogStdoutAndStderr Logging = "stdoutAndStderr"
	LogNone            Logging = "none"
)

// Values lists the enum in the schema.
func (Logging) Values() []infer.EnumValue[Logging] {
	return []infer.EnumValue[Logging]{
		{Name: string(LogStdout), Value: LogStdout, Description: "Log stdout only."},
		{Name: string(LogStderr), Value: LogStderr, Description: "Log stderr only."},
		{Name: string(LogStdoutAndStderr), Value: LogStdoutAndStderr, Description: "Log both."},
		{Name: string(LogNone), Value: LogNone, Description: "Log nothing."},
	}
}

// logs says whether a stream is logged; unset means both.
func (l *Logging) logs(stream Logging) bool {
	return l == nil || *l == stream || *l == LogStdoutAndStderr
}
