export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

export const missingParameter = (name: string): Ec2Error => new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);

export const invalidValue = (name: string, value: string, why = ''): Ec2Error =>
  new Ec2Error('InvalidParameterValue', `Value (${value}) for parameter ${name} is invalid.${why ? ` ${why}` : ''}`);

export const unknownParameter = (name: string): Ec2Error => new Ec2Error('UnknownParameter', `The parameter ${name} is not recognized`);
