# gen_commands.awk: the COMMANDS section of pillory(8), made at build time
# from `pillory --help`, which prints the subcommand table main.c
# dispatches with: the manual lists exactly the commands the program has.
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}
/^commands:/ { on = 1; next }
/^options:/ { on = 0 }
on && /^  [^ ]/ {
	sub(/^  /, "")
	name = $1
	usage = substr($0, length(name) + 2)
	print ".TP"
	if (usage != "")
		print "\\fB" esc(name) "\\fR " esc(usage)
	else
		print ".B " esc(name)
	next
}
on && /^      / {
	sub(/^ +/, "")
	print esc($0) "."
}
