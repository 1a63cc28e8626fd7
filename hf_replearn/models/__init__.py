"""Model families (configuration/modeling pairs) and starting points for fine-tuning."""
