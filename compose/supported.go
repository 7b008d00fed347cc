package compose

import (
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/tree"
)

// unsupportedPrefixes are the attribute paths (as in the compose
// specification, "*" for any key and "[]" for any list item) that berth does
// not implement. Loading a file that uses one of them gives a warning naming
// the key and its service. Every attribute the specification adds later is
// reported too (the supported list is built from the schema minus these), so
// nothing is silently dropped.
var unsupportedPrefixes = []string{
	"services.*.annotations", "services.*.attach", "services.*.blkio_config",
	"services.*.cgroup", "services.*.cgroup_parent", "services.*.cpu_count",
	"services.*.cpu_percent", "services.*.cpu_period", "services.*.cpu_quota",
	"services.*.cpu_rt_period", "services.*.cpu_rt_runtime", "services.*.cpuset",
	"services.*.credential_spec", "services.*.develop", "services.*.device_cgroup_rules",
	"services.*.devices", "services.*.external_links", "services.*.gpus",
	"services.*.group_add", "services.*.isolation", "services.*.logging",
	"services.*.mac_address", "services.*.mem_reservation", "services.*.mem_swappiness",
	"services.*.memswap_limit", "services.*.models", "services.*.oom_kill_disable",
	"services.*.oom_score_adj", "services.*.platform", "services.*.post_start",
	"services.*.pre_start", "services.*.pre_stop", "services.*.provider",
	"services.*.pull_refresh_after", "services.*.runtime", "services.*.shm_size",
	"services.*.storage_opt", "services.*.umask", "services.*.use_api_socket",
	"services.*.userns_mode", "services.*.uts", "services.*.volumes_from",
	"services.*.cpu_shares",
	"services.*.deploy.endpoint_mode", "services.*.deploy.labels", "services.*.deploy.mode",
	"services.*.deploy.placement", "services.*.deploy.resources.reservations",
	"services.*.deploy.restart_policy", "services.*.deploy.rollback_config",
	"services.*.deploy.update_config",
	"services.*.networks.*.driver_opts", "services.*.networks.*.gw_priority",
	"services.*.networks.*.interface_name", "services.*.networks.*.link_local_ips",
	"services.*.networks.*.use_service_name_alias",
	"services.*.ports.[].app_protocol", "services.*.ports.[].name",
	"services.*.volumes.[].bind.propagation", "services.*.volumes.[].bind.selinux",
	"services.*.volumes.[].bind.recursive", "services.*.volumes.[].consistency",
	"services.*.volumes.[].image", "services.*.volumes.[].volume.labels",
	"networks.*.attachable", "networks.*.enable_ipv6", "networks.*.ipam.config.[].aux_addresses",
	"networks.*.ipam.config.[].ip_range", "networks.*.ipam.options",
	"volumes.*.driver_opts", "secrets.*.driver", "secrets.*.driver_opts",
	"secrets.*.template_driver", "configs.*.template_driver",
	"models", "jobs",
	// build: berth builds context, dockerfile, args, target, labels, network
	// (and takes no_cache, as it has no cache), nothing else.
	"services.*.build.dockerfile_inline", "services.*.build.entitlements", "services.*.build.ssh",
	"services.*.build.cache_from", "services.*.build.cache_to", "services.*.build.no_cache_filter",
	"services.*.build.additional_contexts", "services.*.build.pull", "services.*.build.shm_size",
	"services.*.build.extra_hosts", "services.*.build.isolation", "services.*.build.privileged",
	"services.*.build.secrets", "services.*.build.tags", "services.*.build.ulimits",
	"services.*.build.platforms", "services.*.build.provenance", "services.*.build.sbom",
}

var (
	supportedOnce  sync.Once
	supportedPaths []tree.Path
)

// supportedAttributes returns the specification's attribute paths minus the
// unsupported ones.
func supportedAttributes() []tree.Path {
	supportedOnce.Do(func() {
		for _, p := range schema.AttributePaths() {
			if !isUnsupported(string(p)) {
				supportedPaths = append(supportedPaths, p)
			}
		}
	})
	return supportedPaths
}

func isUnsupported(path string) bool {
	for _, u := range unsupportedPrefixes {
		if path == u || strings.HasPrefix(path, u+".") {
			return true
		}
	}
	return false
}
