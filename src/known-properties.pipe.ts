import { ArgumentMetadata, Type, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { getMetadataStorage, ValidationError, ValidatorOptions } from 'class-validator';
import { modelsOptions, passesEveryRule } from './validation-verdict';

/** The properties a DTO declares: those with at least one class-validator rule, exactly what `whitelist` keeps. */
const knownByClass = new WeakMap<Type<unknown>, readonly string[]>();

export function knownProperties(metatype: Type<unknown>): readonly string[] {
  let known = knownByClass.get(metatype);
  if (!known) {
    const rules = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
    known = [...new Set(rules.map((rule) => rule.propertyName))];
    knownByClass.set(metatype, known);
  }
  return known;
}

/**
 * The ValidationPipe, after one shallow step that keeps only the body's own properties the DTO
 * declares. The pipe itself walks the whole value (prototype-key stripping, class-transformer's
 * copy) before `whitelist` drops what it does not know, so 16 KiB of nested arrays under an
 * unknown key cost many times a real event. Dropped first, unknown properties cost one key lookup
 * each, and a body costs what its known fields do. `whitelist` stays on, with every rule and message.
 */
export class KnownPropertiesValidationPipe extends ValidationPipe {
  /** Whether passesEveryRule() models the validator options, so that its pass can be taken. */
  private readonly verdicts: boolean;

  constructor(options: ValidationPipeOptions) {
    super(options);
    this.verdicts = modelsOptions(this.validatorOptions);
  }

  transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    if (metadata.type !== 'body' || !metatype || !isPlainObject(value)) return super.transform(value, metadata);
    const known = knownProperties(metatype);
    if (known.length === 0) return super.transform(value, metadata);
    const picked: Record<string, unknown> = {};
    for (const key of known) if (Object.hasOwn(value, key)) picked[key] = value[key];
    return super.transform(picked, metadata);
  }

  /**
   * class-validator's errors, or none when passesEveryRule() finds that every rule holds: the same
   * rules and constraint validators, at a fraction of the cost. What fails is validated again by
   * class-validator, so that errors and messages are exactly its own.
   */
  protected validate(object: object, validatorOptions?: ValidatorOptions): Promise<ValidationError[]> | ValidationError[] {
    if (this.verdicts && passesEveryRule(object, this.validatorOptions.whitelist === true) === true) return [];
    return super.validate(object, validatorOptions);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
