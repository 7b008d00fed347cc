package compose

// Statuses of progress events, as Docker Compose words them.
const (
	StatusCreating   = "Creating"
	StatusCreated    = "Created"
	StatusRecreating = "Recreating"
	StatusRecreated  = "Recreated"
	StatusStarting   = "Starting"
	StatusStarted    = "Started"
	StatusRestarting = "Restarting"
	StatusRestarted  = "Restarted"
	StatusWaiting    = "Waiting"
	StatusHealthy    = "Healthy"
	StatusExited     = "Exited"
	StatusRunning    = "Running"
	StatusStopping   = "Stopping"
	StatusStopped    = "Stopped"
	StatusRemoving   = "Removing"
	StatusRemoved    = "Removed"
	StatusError      = "Error"
)

// Event is one change of a resource's state during an operation.
type Event struct {
	Kind   string // "Container", "Network", "Volume"
	Name   string
	Status string
	Text   string // detail (an error, a reason)
	Done   bool   // the resource reached a final state for this operation
}

// Progress receives events; implementations must be safe for concurrent use.
type Progress interface {
	Event(e Event)
}

type discardProgress struct{}

func (discardProgress) Event(Event) {}

func containerEvent(name, status string, done bool) Event {
	return Event{Kind: "Container", Name: name, Status: status, Done: done}
}
