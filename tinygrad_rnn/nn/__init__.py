"""Neural-network building blocks: modules, layers, losses, recurrent layers."""
