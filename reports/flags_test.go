package reports

import "flag"

var update = flag.Bool("update", false, "rewrite golden files and summary.schema.json")
