"""What every API sandbox is built from: the clock, the fault settings and dice, the sliding
rate-limit window, the request log, error answers, the running sandbox, the gateway in front
of the API routes, the control API's shared routes, the app factory and the command line.

`vitally_sandbox` and `unthread_sandbox` add only their own resources, specs and auth.
"""
