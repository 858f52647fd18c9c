/**
 * The Python side of the sandbox, run once per interpreter when its process starts: the first,
 * friendly layer, which gives scripts clear errors. The wall is the process it runs in (see
 * ./process.ts), and every run starts from the same memory image (./interpreter-process.ts).
 *
 * It defines `_flowgram_configure(allowed_json)`, `_flowgram_compile(source)` and
 * `_flowgram_run(compiled, params_json, limits_json)`
 * and then removes every way from Python back to JavaScript. Layers, each enough on its own for the
 * common attacks and together for the known ones:
 *   1. an AST check before the script runs (no `_`-attributes, no dunder names, no eval/exec/open/...),
 *   2. a fresh namespace per run with reduced builtins, an import allowlist and read-only module views,
 *   3. an audit hook (cannot be removed once added) refusing files, sockets, processes, frame and gc
 *      introspection and imports outside the allowlist, during a run and from script code at any time
 *      (finalizers and generator `finally` blocks can run after their run ended),
 *   4. the `js` / `pyodide_js` bridges and pyodide's own modules dropped from `sys.modules`,
 *      their import finder removed.
 * Kept as a TypeScript string so `tsc` ships it in dist/ without a copy step.
 */
export const HARNESS_SOURCE = String.raw`
import ast as _ast
import builtins as _builtins
import json as _json
import marshal as _marshal
import sys as _sys
from opcode import opmap as _opmap

_SCRIPT_FILE = '<script>'
_SCRIPT_MODULE = '__script__'
_IMPORT_NAME = _opmap['IMPORT_NAME']
# Refused as names anywhere in a script: they reach code, frames, files or the import system.
_FORBIDDEN_NAMES = frozenset({
    'eval', 'exec', 'compile', 'open', 'globals', 'locals', 'vars', 'getattr', 'setattr', 'delattr',
    'breakpoint', 'input', 'help', 'memoryview', 'exit', 'quit', 'copyright', 'credits', 'license',
})
_SAFE_BUILTINS = (
    'abs', 'all', 'any', 'ascii', 'bin', 'bool', 'bytearray', 'bytes', 'callable', 'chr', 'classmethod',
    'complex', 'dict', 'divmod', 'enumerate', 'filter', 'float', 'format', 'frozenset', 'hasattr', 'hash',
    'hex', 'id', 'int', 'isinstance', 'issubclass', 'iter', 'aiter', 'anext', 'len', 'list', 'map', 'max',
    'min', 'next', 'object', 'oct', 'ord', 'pow', 'property', 'range', 'repr', 'reversed', 'round', 'set',
    'slice', 'sorted', 'staticmethod', 'str', 'sum', 'super', 'tuple', 'type', 'zip', 'dir',
    'True', 'False', 'None', 'Ellipsis', 'NotImplemented', '__build_class__',
)
# Modules never importable while a script runs, whoever asks (second line behind the allowlist).
_DENIED_MODULE_ROOTS = frozenset({
    'js', 'pyodide_js', 'pyodide', '_pyodide', '_pyodide_core', 'ctypes', '_ctypes', 'os', 'posix',
    'subprocess', '_posixsubprocess', 'socket', '_socket', 'ssl', '_ssl', 'select', 'gc', 'sys', 'builtins',
    'importlib', '_imp', 'marshal', 'pickle', '_pickle', 'io', '_io', 'pathlib', 'shutil', 'tempfile',
    'threading', '_thread', 'signal', '_signal', 'inspect', 'types', 'code', 'codeop', 'runpy', 'pty',
    'fcntl', 'mmap', 'resource', 'asyncio', 'urllib', 'http', 'ftplib', 'smtplib', 'webbrowser', 'zipimport',
})
# Public attributes hidden from module views: they look attributes up by a string at run time.
_HIDDEN_ATTRIBUTES = {
    'operator': frozenset({'attrgetter', 'methodcaller'}),
    'string': frozenset({'Formatter'}),
}
# Audit events refused while a script runs, whoever raises them, and from script code at any time
# (prefix match on the event name).
_DENIED_EVENT_PREFIXES = (
    'os.', 'subprocess.', 'socket.', 'ctypes.', 'shutil.', 'gc.', 'sys.settrace', 'sys.setprofile',
    'sys.addaudithook', 'sys._current_frames', 'sys.monitoring', 'marshal.', 'pickle.', 'code.__new__',
    'function.__new__', 'cpython.', 'builtins.input', 'builtins.breakpoint', 'webbrowser.', 'urllib.',
    'http.', 'ftplib.', 'smtplib.', 'imaplib.', 'poplib.', 'nntplib.', 'telnetlib.', 'sqlite3.', 'mmap.',
    'fcntl.', 'resource.', 'syslog.', 'pty.', 'glob.', 'tempfile.', 'msvcrt.', 'winreg.',
)
# Events refused only when raised directly by script code (the stdlib legitimately raises them).
_DENIED_FROM_SCRIPT = ('exec', 'compile', 'import', 'open', 'object.__getattr__', 'object.__setattr__',
                       'object.__delattr__', 'sys._getframe', 'sys._getframemodulename')


class SandboxViolation(Exception):
    pass


class _Limit(Exception):
    def __init__(self, limit, message):
        super().__init__(message)
        self.limit = limit


_state = {'allowed': frozenset(), 'active': False, 'in_hook': False, 'code': None, 'logs': None, 'log_bytes': 0,
          'console_bytes': 0, 'console_truncated': False}
_views = {}


def _root(name):
    return name.partition('.')[0]


# ---- 1. the AST check -------------------------------------------------------------------------
def _check_tree(tree, allowed):
    for node in _ast.walk(tree):
        line = getattr(node, 'lineno', None)
        where = f' (line {line})' if line else ''
        if isinstance(node, _ast.Attribute) and node.attr.startswith('_'):
            raise SandboxViolation(f'attribute "{node.attr}" is not allowed: names starting with "_" are private{where}')
        if isinstance(node, _ast.Name):
            if node.id.startswith('__') and node.id != '__name__':
                raise SandboxViolation(f'name "{node.id}" is not allowed{where}')
            if node.id in _FORBIDDEN_NAMES:
                raise SandboxViolation(f'"{node.id}" is not allowed in scripts{where}')
        elif isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)):
            if node.name.startswith('__') and not node.name.endswith('__'):
                raise SandboxViolation(f'name "{node.name}" is not allowed{where}')
        elif isinstance(node, _ast.arg) and node.arg.startswith('__'):
            raise SandboxViolation(f'name "{node.arg}" is not allowed{where}')
        elif isinstance(node, _ast.keyword) and node.arg and node.arg.startswith('__'):
            raise SandboxViolation(f'name "{node.arg}" is not allowed{where}')
        elif isinstance(node, _ast.alias):
            if node.name != '*' and any(part.startswith('_') for part in node.name.split('.')):
                raise SandboxViolation(f'import of "{node.name}" is not allowed{where}')
            if node.asname and node.asname.startswith('__'):
                raise SandboxViolation(f'name "{node.asname}" is not allowed{where}')
        if isinstance(node, _ast.Import):
            for alias in node.names:
                if _root(alias.name) not in allowed:
                    raise SandboxViolation(f'import of "{alias.name}" is not allowed{where}')
        elif isinstance(node, _ast.ImportFrom):
            if node.level or not node.module or _root(node.module) not in allowed:
                raise SandboxViolation(f'import from "{node.module or "."}" is not allowed{where}')
        elif isinstance(node, (_ast.Global, _ast.Nonlocal)):
            for name in node.names:
                if name.startswith('__'):
                    raise SandboxViolation(f'name "{name}" is not allowed{where}')
        elif isinstance(node, _ast.MatchClass):
            for name in node.kwd_attrs:
                if name.startswith('_'):
                    raise SandboxViolation(f'attribute "{name}" is not allowed{where}')


# ---- 2. namespace, builtins, imports ----------------------------------------------------------
class _ModuleView:
    """What a script gets for an allowed module: public attributes only, and read-only."""
    __slots__ = ('_flowgram_module', '_flowgram_hidden')

    def __init__(self, module):
        object.__setattr__(self, '_flowgram_module', module)
        object.__setattr__(self, '_flowgram_hidden', _HIDDEN_ATTRIBUTES.get(module.__name__, frozenset()))

    def __getattr__(self, name):
        module = object.__getattribute__(self, '_flowgram_module')
        if name.startswith('_') or name in object.__getattribute__(self, '_flowgram_hidden'):
            raise AttributeError(f'module "{module.__name__}" has no public attribute "{name}"')
        replacement = _REPLACEMENTS.get((module.__name__, name))
        if replacement is not None:
            return replacement
        value = getattr(module, name)
        if type(value) is type(_sys):
            if _root(value.__name__) not in _state['allowed']:
                raise AttributeError(f'module "{value.__name__}" is not allowed')
            return _view(value)
        return value

    def __setattr__(self, name, value):
        raise SandboxViolation('modules are read-only in scripts')

    def __delattr__(self, name):
        raise SandboxViolation('modules are read-only in scripts')

    def __dir__(self):
        module = object.__getattribute__(self, '_flowgram_module')
        hidden = object.__getattribute__(self, '_flowgram_hidden')
        return [name for name in dir(module) if not name.startswith('_') and name not in hidden]

    def __repr__(self):
        return f"<module '{object.__getattribute__(self, '_flowgram_module').__name__}'>"


def _default_names_only(function):
    """functools.wraps / update_wrapper copy attributes named by strings: only their default names are allowed."""
    import functools

    first = 2 if function is functools.update_wrapper else 1

    def guarded(*args, **kwargs):
        names = list(args[first:]) + [kwargs[key] for key in ('assigned', 'updated') if key in kwargs]
        for value in names:
            if value is not functools.WRAPPER_ASSIGNMENTS and value is not functools.WRAPPER_UPDATES:
                raise SandboxViolation(f'functools.{function.__name__}: only the default attribute names are allowed')
        return function(*args, **kwargs)

    guarded.__name__ = function.__name__
    guarded.__doc__ = function.__doc__
    return guarded


def _make_replacements():
    import functools
    return {
        ('functools', 'wraps'): _default_names_only(functools.wraps),
        ('functools', 'update_wrapper'): _default_names_only(functools.update_wrapper),
    }


_REPLACEMENTS = {}


def _view(module):
    view = _views.get(module.__name__)
    if view is None:
        view = _views[module.__name__] = _ModuleView(module)
    return view


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    state = _state
    state['active'] = False  # the import machinery itself opens files and runs module code
    try:
        caller = _sys._getframe(1)
        # An import statement of the script (already checked on the AST), or a C function of the
        # stdlib importing lazily (datetime.strftime imports time) while the script's frame is on top.
        from_script = caller.f_code.co_filename == _SCRIPT_FILE and caller.f_code.co_code[caller.f_lasti] == _IMPORT_NAME
        if from_script and (level or _root(name) not in state['allowed'] or any(part.startswith('_') for part in name.split('.'))):
            raise ImportError(f'import of "{name}" is not allowed')
        if _root(name) in _DENIED_MODULE_ROOTS:
            raise ImportError(f'import of "{name}" is not allowed')
        module = __import__(name, globals, locals, fromlist, level)
    finally:
        state['active'] = True
    if not from_script:
        return module
    return _view(_sys.modules[name if fromlist else _root(name)])


def _print(*values, sep=' ', end='\n', file=None, flush=False):
    state = _state
    if state['console_truncated']:
        return
    text = (' ' if sep is None else str(sep)).join(str(value) for value in values)
    text += '\n' if end is None else str(end)
    if text.endswith('\n'):
        text = text[:-1]
    # Each line costs at least a little, so a flood of empty prints is bounded too (as in JavaScript).
    cost = max(len(text.encode('utf-8', 'surrogatepass')), 16)
    if state['log_bytes'] + cost > state['console_bytes']:
        state['console_truncated'] = True
        return
    state['log_bytes'] += cost
    state['logs'].append(text)


def _make_builtins():
    table = {name: getattr(_builtins, name) for name in _SAFE_BUILTINS if hasattr(_builtins, name)}
    for name in dir(_builtins):
        value = getattr(_builtins, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            table[name] = value
    table['__import__'] = _guarded_import
    table['print'] = _print
    return table


_BUILTINS = _make_builtins()


# ---- 3. the audit hook --------------------------------------------------------------------------
def _caller_is_script():
    frame = _sys._getframe(2)
    return frame is not None and frame.f_code.co_filename == _SCRIPT_FILE


def _audit(event, args):
    state = _state
    if state['in_hook']:
        return
    if event == 'exec' and args and args[0] is state['code']:
        return
    denied_always = event.startswith(_DENIED_EVENT_PREFIXES) or (
        event == 'import' and args and isinstance(args[0], str) and _root(args[0]) in _DENIED_MODULE_ROOTS
    )
    if not denied_always and event not in _DENIED_FROM_SCRIPT:
        return
    if state['active'] and denied_always:
        raise SandboxViolation(f'{event} is not allowed in scripts')
    # Script code may also run outside a run's window (a finalizer, a generator's finally block run by
    # the garbage collector), so whether the script raised the event is checked whenever it matters.
    state['in_hook'] = True  # _getframe raises its own audit event
    try:
        from_script = _caller_is_script()
    finally:
        state['in_hook'] = False
    if from_script:
        raise SandboxViolation(f'{event} is not allowed in scripts')


# ---- values crossing as JSON ---------------------------------------------------------------------
def _check_value(value, path):
    kind = type(value)
    if value is None or kind in (str, bool, int):
        return
    if kind is float:
        if value != value or value in (float('inf'), float('-inf')):
            raise TypeError(f'{path} is {value}, which JSON cannot represent')
        return
    if kind in (list, tuple):
        for index, item in enumerate(value):
            _check_value(item, f'{path}[{index}]')
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f'{path} has a key of type {type(key).__name__}; keys must be str')
            _check_value(item, f'{path}[{key!r}]')
        return
    raise TypeError(f'{path} is a {kind.__name__}; values must be dict, list, str, int, float, bool or None')


def _script_line(error):
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _SCRIPT_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(error):
    if isinstance(error, SyntaxError) and error.filename == _SCRIPT_FILE:
        return f'SyntaxError: {error.msg} (line {error.lineno})'
    line = _script_line(error)
    text = f'{type(error).__name__}: {error}' if str(error) else type(error).__name__
    return f'{text} (line {line})' if line else text


def _flowgram_configure(allowed_json):
    allowed = frozenset(_json.loads(allowed_json))
    _state['allowed'] = allowed - _DENIED_MODULE_ROOTS
    _REPLACEMENTS.update(_make_replacements())
    # Warm the allowed modules once, so their imports (and file reads) happen before any script.
    for name in sorted(_state['allowed']):
        try:
            __import__(name)
        except ImportError:
            pass
    if 'datetime' in _state['allowed']:
        _sys.modules['datetime'].datetime.strptime('2000', '%Y')


async def _probe_coroutine():
    pass


_probe = _probe_coroutine()
_CoroutineType = type(_probe)
_probe.close()
del _probe


def _finish_coroutine(coroutine):
    # async def main runs to its end in one step: the sandbox has no event loop (asyncio is refused),
    # so an await that suspends could never be resumed.
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError('main awaited something that never completes (the sandbox has no event loop)')


def _flowgram_compile(source):
    """Parses, checks and compiles a script: 'C' + its marshalled code, or 'E' + the error as JSON.
    No script code runs here, so the process may keep the answer for the next run of the same source."""
    try:
        tree = _ast.parse(source, _SCRIPT_FILE, 'exec')
        _check_tree(tree, _state['allowed'])
    except SyntaxError as error:
        return 'E' + _json.dumps(_describe(error))
    except SandboxViolation as error:
        return 'E' + _json.dumps(f'sandbox: {error}')
    except RecursionError as error:
        return 'E' + _json.dumps(_describe(error))
    return 'C' + _marshal.dumps(compile(tree, _SCRIPT_FILE, 'exec')).decode('latin-1')


def _flowgram_run(compiled, params_json, limits_json):
    state = _state
    limits = _json.loads(limits_json)
    state['logs'] = logs = []
    state['log_bytes'] = 0
    state['console_bytes'] = limits['consoleBytes']
    state['console_truncated'] = False
    result = None
    # Every run starts from one memory image (the interpreter process restores it), so the random
    # generator is seeded afresh, or every run would draw the same numbers.
    if 'random' in _sys.modules:
        _sys.modules['random'].seed()
    if compiled[0] == 'E':
        return _json.dumps({'ok': False, 'error': _json.loads(compiled[1:]), 'logs': logs})
    try:
        code = _marshal.loads(compiled[1:].encode('latin-1'))
        namespace = {'__builtins__': dict(_BUILTINS), '__name__': _SCRIPT_MODULE}
        params = _json.loads(params_json)
        state['code'] = code
        state['active'] = True
        try:
            exec(code, namespace)
            main = namespace.get('main')
            if not callable(main):
                raise NameError('the script must define a function main(p)')
            value = main({'params': params})
            if type(value) is _CoroutineType:
                value = _finish_coroutine(value)
        finally:
            state['active'] = False
            state['code'] = None
        if type(value) is not dict:
            value = {'result': value}
        _check_value(value, 'the value main returned')
        encoded = _json.dumps(value, ensure_ascii=False, allow_nan=False)
        if len(encoded.encode('utf-8', 'surrogatepass')) > limits['outputBytes']:
            raise _Limit('outputBytes', 'outputBytes')
        result = '{"ok":true,"value":' + encoded + ',"logs":' + _json.dumps(logs) + '}'
    except _Limit as error:
        result = _json.dumps({'ok': False, 'error': str(error), 'limit': error.limit, 'logs': logs})
    except MemoryError:
        result = _json.dumps({'ok': False, 'error': 'MemoryError', 'limit': 'memoryBytes', 'logs': logs})
    except RecursionError as error:
        result = _json.dumps({'ok': False, 'error': _describe(error), 'limit': 'stackBytes', 'logs': logs})
    except SandboxViolation as error:
        result = _json.dumps({'ok': False, 'error': f'sandbox: {error}', 'logs': logs})
    except BaseException as error:
        result = _json.dumps({'ok': False, 'error': _describe(error), 'logs': logs})
    finally:
        state['active'] = False
        state['logs'] = None
    return result[:-1] + (',"truncated":true' if state['console_truncated'] else '') + '}'


_sys.addaudithook(_audit)

# Cut every way back to JavaScript: the bridges, pyodide's modules and its import finder.
for _name in list(_sys.modules):
    if _root(_name) in ('js', 'pyodide_js', 'pyodide', '_pyodide', '_pyodide_core', 'ctypes', '_ctypes'):
        del _sys.modules[_name]
# pyodide's import finder keeps the JavaScript modules it serves; a gc walk would find them there.
for _finder in _sys.meta_path:
    if isinstance(getattr(_finder, 'jsproxies', None), dict):
        _finder.jsproxies.clear()
_sys.meta_path[:] = [_finder for _finder in _sys.meta_path if 'pyodide' not in type(_finder).__module__]
_sys.path_hooks[:] = [_hook for _hook in _sys.path_hooks if 'pyodide' not in getattr(_hook, '__module__', '')]
_sys.path_importer_cache.clear()
`;
