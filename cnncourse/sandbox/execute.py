"""nbgrader's Execute preprocessor, run in the sandbox and under the resource limits.

Configured in ``nbgrader_config.py`` as the first of ``Autograde.autograde_preprocessors``.
Differences from nbgrader's own ``Execute``:

- the kernel starts in the sandbox (:class:`~cnncourse.sandbox.manager.SandboxKernelManager`)
  or, where that is impossible, grading refuses to start (unless unsafe grading is asked);
- each cell may run ``cell_seconds`` and all cells together ``submission_seconds``; a cell
  past its limit is interrupted, and if the interrupt does not stop it within a few
  seconds (SIGINT ignored, C code) the kernel is killed;
- a student function that ran past the cell limit is not called again: the grader finds it
  (the planned case that never returned, or the innermost of the student's functions in the
  interrupted cell's traceback) and replaces it in the kernel by one that raises at once
  (:func:`cnncourse.sandbox.replay.stop_calling`), so a function that hangs on every call
  costs one cell limit, not one per test, and every later case that calls it, directly or
  through another function, fails with the same message;
- a cell keeps at most ``output_kb`` of output; the rest is dropped, with a note;
- a kernel that fails to start (it died before it answered: nothing of the student's has
  run yet) is started once more; a second failure stops the run with the kernel's log;
- when the kernel dies (``os._exit``, CPU time limit, a killed jail) the notebook is not
  lost: the cell that was running and every later cell get an error output saying why,
  so their tests score zero, and nbgrader goes on with the next submission;
- where the sandbox's memory limit cannot be enforced (no memory cgroup can be made), it
  says so once per process, on the log, before the first submission.

The messages it writes into the graded notebooks (the limits, the dead kernel, the function
not called again, the dropped output) are what students read in their feedback: they are
templates of the course's catalog (:mod:`cnncourse.i18n`), in the grader's language
(``CNNCOURSE_LANG`` of the grading process, or ``set_language``). The log stays English.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from queue import Empty

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, default

from cnncourse.i18n import LANGUAGES, N_, _, translations
from cnncourse.sandbox import Limits, cgroup, require_sandbox
from cnncourse.sandbox.manager import SandboxKernelManager, warm_server
from cnncourse.sandbox.zygote import Zygote

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# The signals that end a kernel for a limit, in words (translated where they are used).
_SIGNALS = {signal.SIGXCPU: N_("the CPU time limit"), signal.SIGXFSZ: N_("the file size limit"),
            signal.SIGKILL: N_("SIGKILL (killed: a limit, or your code killed its own process)")}

# TRANSLATORS: {limits} is one limit, or several joined by
# "{first} and {second}", each "the memory limit (...)" and the like.
# The grader recognises the note by its text before {limits} (in every
# language): keep {limits} after it.
_LIMIT_NOTE = N_("[autograder] this cell hit {limits}.")


def _is_limit_note(text: str) -> bool:
    """Whether ``text`` is the note :meth:`SandboxedExecute._annotate` adds (in any of the
    course's languages: the language may differ from the one that wrote it)."""
    return any(text.startswith(translations(lang).gettext(_LIMIT_NOTE).split("{")[0])
               for lang in LANGUAGES)


def error_output(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"{ename}: {message}"])


class SandboxedExecute(Execute):
    """Execute every submission in the sandbox, under :class:`~cnncourse.sandbox.Limits`."""

    cell_seconds = Float(None, allow_none=True, help="wall time per cell (s)").tag(config=True)
    submission_seconds = Float(None, allow_none=True,
                               help="wall time of all cells of a notebook (s)").tag(config=True)
    cpu_seconds = Integer(None, allow_none=True, help="CPU time of the kernel (s)").tag(config=True)
    memory_mb = Integer(None, allow_none=True, help="address space per process (MiB)").tag(config=True)
    sandbox_memory_mb = Integer(None, allow_none=True, help="memory of all the sandbox's "
                                "processes together (MiB; cgroup, where available)").tag(config=True)
    processes = Integer(None, allow_none=True, help="processes + threads of the sandbox").tag(config=True)
    file_mb = Integer(None, allow_none=True, help="largest file written (MiB)").tag(config=True)
    disk_mb = Integer(None, allow_none=True, help="size of each tmpfs (MiB)").tag(config=True)
    output_kb = Integer(None, allow_none=True, help="output kept per cell (KiB)").tag(config=True)
    interrupt_grace = Float(5.0, help="seconds an interrupted cell has to stop").tag(config=True)
    trusted_verdicts = Bool(True, help="re-run graded cells' checks in the grader on the "
                                       "recorded results (cnncourse.sandbox.replay)").tag(config=True)
    hide_hidden_tests = Bool(True, help="send the kernel only the cases of graded cells, never "
                                        "their code (needs trusted_verdicts)").tag(config=True)
    warm_kernels = Bool(True, help="fork each kernel from a warm kernel server instead of "
                                   "starting Python anew (root only; cnncourse.sandbox.zygote); "
                                   "CNNCOURSE_WARM_KERNELS=0 turns it off").tag(config=True)

    _warned = False  # the memory-limit warning, once per process

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    @default("shutdown_kernel")
    def _stop_at_once(self):  # a graded kernel has nothing to save: no need to wait for it
        return "immediate"

    # -- limits -----------------------------------------------------------------------------
    def limits(self) -> Limits:
        return Limits.from_env(**{name: getattr(self, name) for name in (
            "cell_seconds", "submission_seconds", "cpu_seconds", "memory_mb", "sandbox_memory_mb",
            "processes", "file_mb", "disk_mb", "output_kb")})

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            km.limits = self._limits
            km.sandboxed = self._sandboxed
            km.records_dir = self._records_dir
            km.warm = self.warm_kernels
        return km

    def preprocess(self, nb, resources=None, km=None):
        self._sandboxed = require_sandbox()
        if not self._sandboxed:
            self.log.warning("CNNCOURSE_UNSAFE_GRADING=1: student code runs WITHOUT the sandbox")
        self._limits = self.limits()
        warning = cgroup.memory_limit_warning(self._limits)
        if warning and not SandboxedExecute._warned:
            SandboxedExecute._warned = True
            self.log.warning("Sandbox: %s", warning)
        self.startup_timeout = int(self._limits.startup_seconds)
        self.timeout_func = self._cell_timeout
        self._deadline = time.monotonic() + self._limits.submission_seconds
        self._dead = None  # why the kernel is gone
        self._killed_for = None
        self._out_bytes = {}
        self._flooded = set()
        self._oom_noted = 0
        # The records go where the kernel can reach them: bound into its jail (cold), or in
        # the spool folder of the warm-kernel server, which its jail sees.
        zygote = (warm_server(self._limits) if self._sandboxed and self.warm_kernels else None)
        if zygote is not None:
            self.log.info("Sandboxed kernel forked from the warm-kernel server (%s)", zygote.spool)
        elif Zygote._failed:
            self.log.warning("The warm-kernel server could not start, kernels start cold: %s",
                             Zygote._failed[-1000:])
        self._records_dir = (tempfile.mkdtemp(prefix="cnncs-rec-", dir=zygote.spool if zygote else None)
                             if self.trusted_verdicts else None)
        self._plans = {}
        self._plan_calls = {}  # grade_id -> [(function, case digest)] in the order run_plan calls
        self._hung = {}  # function -> message, once it ran past a cell limit
        self._graded = None
        try:
            if self._records_dir:
                self._graded = self._graded_cells(nb, resources)
                if self._graded and self.hide_hidden_tests:
                    self._make_plans()
            nb, resources = super().preprocess(nb, resources, km)
            if self._graded:
                self._trusted_verdicts()
        finally:
            if self._records_dir:
                shutil.rmtree(self._records_dir, ignore_errors=True)
            if zygote is not None:  # stops once idle: nothing outlives the Autograde run
                zygote.release()
        return nb, resources

    # -- kernel start ---------------------------------------------------------------------
    start_attempts = Integer(2, help="tries to start a kernel that dies before it answers "
                                     "(no student code has run then)").tag(config=True)

    @contextmanager
    def setup_kernel(self, **kwargs):
        """nbclient's, with a failed start (the kernel died before it answered kernel_info)
        tried again, and the kernel's own log in the warning and in the final error."""
        cleanup_kc = kwargs.pop("cleanup_kc", self.owns_km)
        for attempt in range(1, self.start_attempts + 1):
            if self.km is None:
                self.km = self.create_kernel_manager()
            km = self.km
            try:
                if not km.has_kernel:
                    self.start_new_kernel(**kwargs)
                if self.kc is None:
                    self.start_new_kernel_client()
                break
            except Exception as exc:  # noqa: BLE001 - retried, then raised with the log
                if self.km is not None:  # nbclient cleans up only once it has a client
                    try:
                        self._cleanup_kernel()
                    except Exception as cleanup:  # noqa: BLE001 - the start's error matters
                        self.log.warning("cleaning up the kernel that did not start: %s",
                                         cleanup)
                self.km = self.kc = None
                log = km.kernel_log() if hasattr(km, "kernel_log") else ""
                why = f"{exc} (attempt {attempt} of {self.start_attempts}); kernel log:\n{log}"
                if attempt == self.start_attempts:
                    raise RuntimeError(f"the sandboxed kernel did not start: {why}") from exc
                self.log.warning("The sandboxed kernel did not start, starting it again: %s", why)
                time.sleep(1.0)
        try:
            yield
        finally:
            if cleanup_kc:
                self._cleanup_kernel()

    # -- trusted verdicts ---------------------------------------------------------------------
    def _graded_cells(self, nb, resources):
        """(setup namespace, [(cell, trusted source)]) from the gradebook, or None."""
        from nbgrader.api import Gradebook
        from cnncourse.sandbox import replay

        info = (resources or {}).get("nbgrader", {})
        if not info.get("db_url"):
            return None
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            sources = {c.name: c for c in notebook.source_cells}
            graded = {c.name for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
        setup, tests = [], []
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            src = sources.get(gid)
            if src is None or src.cell_type != "code" or cell.cell_type != "code":
                continue
            if gid in graded and gid not in solutions:
                tests.append((cell, src.source))
            elif src.locked and gid not in solutions:
                setup.append(src.source)
        if not tests:
            return None
        return replay.setup_namespace(setup), tests

    def _make_plans(self) -> None:
        """For each graded cell that can be planned, the kernel will run only the cases
        (inputs), never the test code: hidden tests stay out of the student's process."""
        from cnncourse.sandbox import replay

        namespace, tests = self._graded
        for cell, source in tests:
            gid = cell.metadata["nbgrader"]["grade_id"]
            try:
                calls = replay.plan_cell(source, namespace)
            except Exception as exc:  # noqa: BLE001 - then the kernel runs the source
                self.log.warning("%s: cannot plan (%s); the kernel runs the test code", gid, exc)
                calls = None
            if calls:
                self._plans[gid] = replay.save_plan(calls, self._records_dir, gid)
                self._plan_calls[gid] = [(c["fn"], c["digest"]) for c in calls]

    def _trusted_verdicts(self) -> None:
        """Replace each graded test cell's outputs by the verdict of its checks re-run in
        this process on the recorded results (cnncourse.sandbox.replay)."""
        from cnncourse.sandbox import replay

        namespace, tests = self._graded
        records = replay.Records(self._records_dir)
        for cell, source in tests:
            passed, text, error, replayed = replay.evaluate_cell(source, namespace, records)
            gid = cell.metadata["nbgrader"]["grade_id"]
            if not replayed and gid in self._plans:  # the kernel only ran the cases
                passed, text, error = False, "", RuntimeError(_("the test could not be judged"))
            elif not replayed:
                self.log.warning("%s: verdict of the student's kernel (the check cannot be "
                                 "replayed)", gid)
                continue
            outputs = []
            if text:
                outputs.append(NotebookNode(output_type="stream", name="stdout", text=text))
            if id(cell) in self._flooded:
                outputs.append(NotebookNode(
                    output_type="stream", name="stdout",
                    text=_("[autograder] this cell printed more than the output limit of "
                           "{kib} KiB; its output is not kept.").format(
                               kib=self._limits.output_kb) + "\n"))
            if not passed:
                outputs.append(error_output(type(error).__name__, str(error)))
                outputs += [o for o in cell.get("outputs", [])
                            if o.get("output_type") == "error"
                            and o.get("ename") in ("SandboxLimit", "KernelDied", "NotCalledAgain")]
                outputs += [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"
                            and _is_limit_note(str(o.get("text", "")))]
            cell.outputs = outputs

    def _cell_timeout(self, cell) -> int:
        left = self._deadline - time.monotonic()
        self._limit_hit = ("cell", self._limits.cell_seconds)
        if left < self._limits.cell_seconds:
            self._limit_hit = ("submission", self._limits.submission_seconds)
        return max(1, int(min(self._limits.cell_seconds, left) + 0.999))

    # -- cells ------------------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._dead is None and time.monotonic() >= self._deadline:
            self._dead = _("the submission ran past its wall-time limit of {seconds} s, so "
                           "this cell did not run").format(
                               seconds=f"{self._limits.submission_seconds:g}")
            self._shutdown()
        if self._dead is not None:
            cell.outputs = [error_output("SandboxLimit", self._dead)]
            return cell, resources
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        original = cell.source
        if gid in self._plans:  # run the planned cases, not the (hidden) test code
            cell.source = (f"__import__('cnncourse.sandbox.replay', fromlist=['run_plan'])"
                           f".run_plan({self._plans[gid]!r})")
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            self._annotate(cell)
            return cell, resources
        except DeadKernelError:
            self._dead = self._death_reason()
            cell.outputs = list(cell.get("outputs", [])) + [error_output("KernelDied", self._dead)]
            self.nb.cells[index] = cell
            return cell, resources
        except CellTimeoutError as exc:  # e.g. no IOPub output after the reply
            cell.outputs = list(cell.get("outputs", [])) + [error_output("SandboxLimit", str(exc))]
            return cell, resources
        finally:
            cell.source = original

    def _annotate(self, cell) -> None:
        """Say which limit an error came from (the error itself decides the grade)."""
        text = " ".join(str(o.get("evalue", "")) + str(o.get("text", "")) + " ".join(o.get("traceback", []))
                        for o in cell.get("outputs", []))
        notes = []
        lim = self._limits
        if any(s in text for s in ("can't allocate memory", "MemoryError", "Cannot allocate memory")):
            notes.append(_("the memory limit ({mib} MiB of address space per process)")
                         .format(mib=lim.memory_mb))
        if any(s in text for s in ("Resource temporarily unavailable", "can't start new thread")):
            notes.append(_("the process limit ({count} processes and threads)")
                         .format(count=lim.processes))
        if "File too large" in text:
            notes.append(_("the file size limit ({mib} MiB per file)").format(mib=lim.file_mb))
        if "No space left on device" in text:
            notes.append(_("the disk limit ({mib} MiB in the home folder and in /tmp)")
                         .format(mib=lim.disk_mb))
        oom = self._oom_kills()
        if oom > self._oom_noted:
            self._oom_noted = oom
            notes.append(_("{limit} (a process was killed)").format(limit=self._memory_limit()))
        if notes:
            limits = notes[0]
            for note in notes[1:]:
                # TRANSLATORS: two limits a cell hit ("the memory limit (...) and the ...").
                limits = _("{first} and {second}").format(first=limits, second=note)
            cell.outputs.append(NotebookNode(
                output_type="stream", name="stdout",
                text=_(_LIMIT_NOTE).format(limits=limits) + "\n"))

    def _oom_kills(self) -> int:
        return self.km.oom_kills() if self.km is not None and hasattr(self.km, "oom_kills") else 0

    def _memory_limit(self) -> str:
        return _("the sandbox's memory limit ({mib} MiB for all its processes together)").format(
            mib=self._limits.sandbox_memory_mb)

    def _death_reason(self) -> str:
        status = None
        if self.km is not None and hasattr(self.km, "exit_status"):
            for _attempt in range(20):
                status = self.km.exit_status()
                if status is not None:
                    break
                time.sleep(0.05)
        if self._killed_for:
            return self._killed_for
        if self._oom_kills() > self._oom_noted:
            return _("the kernel was killed for going past {limit}; this cell and the cells "
                     "after it did not finish").format(limit=self._memory_limit())
        why = _("the Python process ended (os._exit, a crash, or a killed kernel)")
        if status is not None and status > 128:
            sig = status - 128
            if sig == signal.SIGXCPU:
                what = _("the CPU time limit of {seconds} s").format(
                    seconds=self._limits.cpu_seconds)
            else:
                try:
                    what = _(_SIGNALS.get(signal.Signals(sig), signal.Signals(sig).name))
                except ValueError:
                    what = _("signal {number}").format(number=sig)
            why = _("the kernel was killed by {what}").format(what=what)
        elif status is not None:
            why = _("the Python process ended (os._exit, a crash, or a killed kernel), exit "
                    "status {status}").format(status=status)
        # TRANSLATORS: {why} is one of the reasons above ("the kernel was killed by ...").
        return _("{why}; this cell and the cells after it did not finish").format(why=why)

    def _shutdown(self) -> None:
        try:
            if self.km is not None:
                self.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    async def _async_handle_timeout(self, timeout, cell=None):
        kind, seconds = getattr(self, "_limit_hit", ("cell", timeout))
        if kind == "cell":
            message = _("the cell ran past the wall-time limit of {seconds} s per cell and was "
                        "stopped").format(seconds=f"{seconds:g}")
        else:
            message = _("the cell ran past the wall-time limit of {seconds} s per submission "
                        "and was stopped").format(seconds=f"{seconds:g}")
        self.log.error("Timeout (%s s): %s", timeout, message)
        try:
            await self.km.interrupt_kernel()
        except Exception:  # noqa: BLE001
            pass
        reply = await self._shell_reply(lambda msg: msg.get("msg_type") == "execute_reply")
        if reply is None:
            # TRANSLATORS: {message} is "the cell ran past the wall-time limit ...".
            self._killed_for = _("{message}; it ignored the interrupt, so the kernel was "
                                 "killed").format(message=message)
            try:
                await self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass
            raise DeadKernelError(self._killed_for)
        await self._stop_calling_hung_function(cell, reply.get("content", {}), message)
        return {"content": {"status": "error", "ename": "SandboxLimit", "evalue": message,
                            "traceback": [f"SandboxLimit: {message}"]}}

    def _hung_function(self, cell, reply: dict) -> str | None:
        """The student function an interrupted cell was in: for a planned cell, that of its
        first case with no record (run_plan records each case as it returns, in plan order);
        otherwise the innermost of the student's functions (those the plans call) that the
        interrupt's traceback names."""
        gid = cell.metadata.get("nbgrader", {}).get("grade_id") if cell is not None else None
        if gid in self._plan_calls:
            for fn, digest in self._plan_calls[gid]:
                if not os.path.exists(os.path.join(self._records_dir, digest + ".pt")):
                    return fn
            return None
        known = {fn for calls in self._plan_calls.values() for fn, _digest in calls}
        frames = re.findall(r",\s*in\s+([A-Za-z_]\w*)",
                            _ANSI.sub("", "\n".join(map(str, reply.get("traceback", [])))))
        inner = [fn for fn in frames if fn in known]
        return inner[-1] if inner else None

    async def _stop_calling_hung_function(self, cell, reply: dict, message: str) -> None:
        name = self._hung_function(cell, reply)
        if name is None or name in self._hung:
            return
        where = cell.metadata.get("nbgrader", {}).get("grade_id")
        if where:
            # TRANSLATORS: {name} is the student's function, {where} the grade id of a
            # test cell, {message} "the cell ran past the wall-time limit ...".
            self._hung[name] = _("{name} is not called again: in {where}, {message}; every "
                                 "later case that calls it fails").format(
                                     name=name, where=where, message=message)
        else:
            where = "a cell"  # the log's words
            self._hung[name] = _("{name} is not called again: in a cell, {message}; every later "
                                 "case that calls it fails").format(name=name, message=message)
        self.log.warning("%s ran past the cell limit in %s; later calls fail at once", name, where)
        msg_id = self.kc.execute(
            f"__import__('cnncourse.sandbox.replay', fromlist=['stop_calling'])"
            f".stop_calling(globals(), {name!r}, {self._hung[name]!r})",
            silent=True, store_history=False, allow_stdin=False)
        await self._shell_reply(lambda msg: msg.get("parent_header", {}).get("msg_id") == msg_id)

    async def _shell_reply(self, wanted) -> dict | None:
        """The first shell message for which ``wanted(msg)`` holds within the interrupt
        grace, or None."""
        end = time.monotonic() + self.interrupt_grace
        while time.monotonic() < end:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=max(0.05, end - time.monotonic()))
            except (Empty, asyncio.TimeoutError):
                return None
            if wanted(msg):
                return msg
        return None

    # -- output -----------------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg.get("msg_type") == "error":  # always kept (it decides the grade), but trimmed
            content["evalue"] = str(content.get("evalue", ""))[:4000]
            content["traceback"] = [str(line)[:4000] for line in content.get("traceback", [])[-40:]]
            return super().output(outs, msg, display_id, cell_index)
        limit = self._limits.output_kb * 1024
        used = self._out_bytes.get(cell_index, 0)
        if used > limit:
            return None
        size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
        self._out_bytes[cell_index] = used + size
        if used + size > limit:
            self._out_bytes[cell_index] = limit + 1
            self._flooded.add(id(self.nb.cells[cell_index]))
            outs.append(NotebookNode(
                output_type="stream", name="stdout",
                text="\n" + _("[output limit of {kib} KiB per cell reached; the rest of this "
                               "cell's output was dropped]").format(kib=self._limits.output_kb)
                     + "\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)
