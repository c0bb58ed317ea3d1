"""JupyterHub configuration of the course (README, "The course on JupyterHub"), started by
`python hub/start.py`.

Real local users, authenticated by PAM (their system passwords) and spawned as themselves
(LocalProcessSpawner), each server a JupyterLab from the course's virtual environment
(`.venv`). The set-up (cnncourse.jupyterhub_course.setup, run by hub/start.py) created the
users, the two groups below, the nbgrader exchange and the instructor's course folder, and
wrote the state folder's course.json, which this file reads:

- the group ``cnn-course-instructors``: the formgrader and Create Assignment (nbgrader's
  server and lab extensions), the course folder ~/cnn-course (the repository's
  nbgrader_config.py, grading in the sandbox);
- the group ``cnn-course-students``: the Assignments tab (nbgrader's assignment list) with
  the exchange, and Validate; no formgrader, no Create Assignment, no course list.

Each role's Jupyter configuration is a folder, hub/roles/<role>/ (jupyter_server_config.json:
nbgrader's server extensions; labconfig/page_config.json: its lab extensions;
nbgrader_config.py), put first on the user's JUPYTER_CONFIG_PATH when the hub spawns the
server -- nbgrader's documented way (`jupyter labextension disable`, `jupyter server
extension disable`), per role instead of per user. Both files say enabled or disabled for
every nbgrader extension, so no other level of configuration (the venv's, ~/.jupyter) changes
a role's tools.
"""

import json
import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

HUB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HUB_DIR)
VENV_BIN = os.path.dirname(sys.executable)  # the hub runs from the course's .venv
STATE = os.environ.get("CNNCOURSE_HUB_STATE", "/srv/cnn-course-hub")
with open(os.path.join(STATE, "course.json")) as f:
    course = json.load(f)

ROLES = {"cnn-course-instructors": "instructor", "cnn-course-students": "student"}

# --- where the hub listens, and its state ---------------------------------------------
c.JupyterHub.bind_url = f"http://{course['ip']}:{course['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = course["hub_port"]
PRIVATE = os.path.join(STATE, "hub")  # mode 0700: the hub's database, secret, proxy pid
c.JupyterHub.db_url = "sqlite:///" + os.path.join(PRIVATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(PRIVATE, "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [os.path.join(REPO, "node_modules", ".bin",
                                                "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{course['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(PRIVATE, "jupyterhub-proxy.pid")
# The hub stops its proxy and the users' servers when it stops.
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.cleanup_servers = True

# --- who may log in -----------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(course["instructors"]) | set(course["students"])
c.JupyterHub.load_groups = {
    "cnn-course-instructors": {"users": course["instructors"]},
    "cnn-course-students": {"users": course["students"]},
}
# A service with an API token (tests, scripts): start and stop servers, make tokens.
if os.environ.get("CNNCOURSE_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "cnn-course-admin",
                              "api_token": os.environ["CNNCOURSE_HUB_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "cnn-course-admin", "services": ["cnn-course-admin"],
                                "scopes": ["admin:users", "admin:servers", "tokens",
                                           "access:servers", "read:users", "list:users",
                                           "read:groups"]}]

# --- the users' servers ----------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def role_of(spawner) -> str:
    roles = {ROLES[g.name] for g in spawner.user.groups if g.name in ROLES}
    if len(roles) != 1:
        raise ValueError(f"{spawner.user.name} must be in exactly one of {sorted(ROLES)}")
    return roles.pop()


def pre_spawn_hook(spawner):
    """The role's configuration folder first on JUPYTER_CONFIG_PATH, the course's venv first
    on PATH (its python3 kernel, nbgrader, jupyter), the exchange; for the instructor, the
    course folder."""
    role = role_of(spawner)
    env = dict(spawner.environment)  # a copy: the configured dict is shared by all spawners
    env["PATH"] = os.pathsep.join([VENV_BIN, "/usr/local/bin", "/usr/bin", "/bin"])
    env["JUPYTER_CONFIG_PATH"] = os.path.join(HUB_DIR, "roles", role)
    env["CNNCOURSE_EXCHANGE_ROOT"] = course["exchange"]
    if role == "instructor":
        import pwd

        home = pwd.getpwnam(spawner.user.name).pw_dir
        env["CNNCOURSE_COURSE_ROOT"] = os.path.join(home, course["course_folder"])
    spawner.environment = env


c.Spawner.pre_spawn_hook = pre_spawn_hook
