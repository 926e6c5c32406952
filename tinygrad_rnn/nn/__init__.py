"""Neural-network building blocks: modules, layers, losses, recurrent layers, attention."""

from .module import Module, Parameter
from .layers import Linear, Embedding, Dropout, Sequential
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from .activations import GELU, Flatten, Identity, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .normalization import LayerNorm
from .attention import MultiheadAttention
from . import init
from .cells import RNNCell, LSTMCell, GRUCell
from .recurrent import CIFGLSTM, GRU, LSTM, RNN, IndRNN, LayerNormLSTM, MinGRU, PeepholeLSTM, RNNBase
from .recurrences import RECURRENCES, Recurrence, Weight, register
from .loss import CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, MSELoss
from . import utils
