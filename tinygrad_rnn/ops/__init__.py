"""Every differentiable primitive, one Function each, in one module per family.

Subclassing Function in this package registers the primitive in
``Function.registry``; the test suite enumerates that registry, so a primitive
without its tests (a row of SPECS in tests/test_op_gradients.py) fails it.

Each module names its primitives in ``__all__``, and this package takes them
with ``from .module import *``, so a new primitive in an existing module needs
no line here: it touches its module, its Tensor method in tensor.py, and its
row of SPECS.
"""

from .checks import normalize_dim, normalize_dims, split_index  # noqa: F401  (tensor.py's checks)
from .copy import *  # noqa: F403
from .cumulative import *  # noqa: F403
from .embedding import *  # noqa: F403
from .linalg import *  # noqa: F403
from .losses import *  # noqa: F403
from .maximum import *  # noqa: F403
from .movement import *  # noqa: F403
from .nnops import *  # noqa: F403
from .pad import *  # noqa: F403
from .pointwise import *  # noqa: F403
from .recurrent import *  # noqa: F403
from .reduce import *  # noqa: F403
from .roots import *  # noqa: F403
from .scan import *  # noqa: F403
from .sign import *  # noqa: F403
from .special import *  # noqa: F403
from .trigonometric import *  # noqa: F403
