"""Neural-network building blocks: modules, layers, losses, recurrent layers."""

from .module import Module, Parameter
from .layers import Linear, Embedding, Dropout, Sequential
from . import init
from .cells import RNNCell, LSTMCell, GRUCell
from .recurrent import RNN, LSTM, GRU
from .loss import CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, MSELoss
from . import utils
