module workerpools/references/gobyexample

go 1.19
